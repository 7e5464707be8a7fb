"""cove: api package."""
