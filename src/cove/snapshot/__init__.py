"""cove: snapshot package."""
