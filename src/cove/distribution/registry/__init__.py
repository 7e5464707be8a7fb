"""The OCI distribution client: endpoints, auth, pull and push against any v2 registry."""
