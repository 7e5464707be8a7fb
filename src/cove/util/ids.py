"""Object identifiers in Docker's shapes."""

from __future__ import annotations

import os
import re

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def new_id() -> str:
    """A 64-hex-digit random ID, as Docker uses for containers, execs and networks."""
    return os.urandom(32).hex()


def is_full_id(s: str) -> bool:
    return bool(_HEX64.match(s))


def short_id(s: str) -> str:
    """The 12-character form shown by ``ps`` and ``images`` (digest prefix dropped)."""
    if s.startswith("sha256:"):
        s = s[7:]
    return s[:12]
