"""Content digests (``sha256:<hex>``) as the OCI image spec defines them."""

from __future__ import annotations

import hashlib
import re

from cove.errors import InvalidArgument

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def validate(digest: str) -> str:
    """Return ``digest`` if it is a well-formed sha256 digest; never trust one from outside."""
    if not _DIGEST.match(digest):
        raise InvalidArgument(f"invalid digest: {digest!r}")
    return digest


def hex_of(digest: str) -> str:
    return validate(digest)[7:]


def chain_ids(diff_ids: list[str]) -> list[str]:
    """ChainID of each layer prefix: chain(n) = sha256(chain(n-1) + " " + diff_id(n))."""
    out: list[str] = []
    for d in diff_ids:
        out.append(d if not out else sha256_bytes(f"{out[-1]} {d}".encode()))
    return out
