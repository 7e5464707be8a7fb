"""cove: volume package."""
