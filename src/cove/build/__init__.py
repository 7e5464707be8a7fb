"""cove: build package."""
