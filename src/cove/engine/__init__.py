"""cove: engine package."""
