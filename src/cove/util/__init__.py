"""cove: util package."""
