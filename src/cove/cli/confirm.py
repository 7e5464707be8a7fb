"""The docker CLI's prompt before a prune: ``WARNING! This will remove <what>.`` and a y/N
question on stdout; only ``y`` or ``yes`` (any case) goes ahead, as in the docker CLI."""

from __future__ import annotations

import sys


def confirmed(what: str) -> bool:
    sys.stdout.write(
        f"WARNING! This will remove {what}.\nAre you sure you want to continue? [y/N] "
    )
    sys.stdout.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")
