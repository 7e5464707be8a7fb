"""cove: client package."""
