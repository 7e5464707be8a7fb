"""cove: cli package."""
