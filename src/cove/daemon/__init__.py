"""cove: daemon package."""
