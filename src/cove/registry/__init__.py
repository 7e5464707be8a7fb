"""cove's own registry server: the OCI distribution spec on a local content store."""
