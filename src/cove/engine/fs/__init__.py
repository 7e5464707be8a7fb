"""The file-system side of containers: volumes, mounts and docker cp."""
