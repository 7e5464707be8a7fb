"""cove: image package."""
