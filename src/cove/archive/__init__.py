"""cove: archive package."""
