"""Images: the local image operations, commit, diff, save/load/export and the registry client."""
