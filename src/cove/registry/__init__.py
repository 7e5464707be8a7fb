"""cove: registry package."""
