"""cove: distribution package."""
