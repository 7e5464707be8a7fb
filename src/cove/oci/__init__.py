"""cove: oci package."""
