"""cove: network package."""
