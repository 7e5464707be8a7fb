"""cove: store package."""
