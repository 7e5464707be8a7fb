"""Tar entry names and whiteout names, as Docker and the OCI image spec define them."""

from __future__ import annotations

import posixpath

from cove.errors import InvalidArgument

WHITEOUT_PREFIX = ".wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
# A whiteout ``.wh.<name>`` whose <name> starts again with ``.wh.`` is a metadata file of
# aufs (``.wh..wh.plnk``, ``.wh..wh.aufs``): never content, never a deletion.
WHITEOUT_META_PREFIX = ".wh..wh."
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"


def clean_name(name: str) -> str:
    """Normalise a tar entry name to a relative path inside the target ("" for the root).

    A leading "/" is dropped (the entry lands inside the target, as Docker does); a name that
    climbs out with ".." is refused, as Docker's "breakout" check does."""
    if "\x00" in name:
        raise InvalidArgument(f"invalid tar entry name {name!r}")
    rel = posixpath.normpath(name)  # an absolute "/../x" normalises to "/x", inside
    if rel == ".." or rel.startswith("../"):
        raise InvalidArgument(f"invalid tar entry {name!r}: the path leads outside the layer")
    rel = rel.lstrip("/")
    return "" if rel == "." else rel


def split(rel: str) -> tuple[str, str]:
    """("dir/sub", "name") for "dir/sub/name"; ("", "name") at the top."""
    head, _, tail = rel.rpartition("/")
    return head, tail


def whiteout_target(base: str) -> str | None:
    """For ``.wh.<name>`` the deleted <name>; None when ``base`` is not a plain whiteout."""
    if base.startswith(WHITEOUT_PREFIX) and not base.startswith(WHITEOUT_META_PREFIX):
        target = base[len(WHITEOUT_PREFIX) :]
        if target in ("", ".", ".."):
            raise InvalidArgument(f"invalid whiteout entry {base!r}")
        return target
    return None
