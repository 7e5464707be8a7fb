"""cove: runtime package."""
