"""The ``# syntax=`` and ``# check=`` parser directives, as BuildKit reads them.  Pure.

``# syntax=`` names the frontend image BuildKit would pull to read the file.  cove reads
Dockerfiles with its own built-in frontend, so it accepts the names of Docker's official
one in the versions whose syntax it implements (``docker/dockerfile`` with a 1.x tag, a
``-labs`` variant or ``labs``, with or without a registry prefix or a digest), downloads
nothing, and refuses any other frontend clearly instead of building the file differently
from what its author asked for.

``# check=skip=Rule1,Rule2;error=true`` configures the build checks (see ``lint.py``):
``skip=all`` turns them off, ``error=true`` makes findings fail the build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cove.errors import InvalidArgument

_OFFICIAL = re.compile(
    r"^(?:(?:docker\.io|registry-1\.docker\.io|index\.docker\.io)/)?"
    r"docker/dockerfile(?:-upstream)?"
    r"(?::(?P<tag>[A-Za-z0-9_.-]+))?(?:@sha256:[0-9a-f]{64})?$"
)
_TAG = re.compile(r"^(?:labs|latest|1(?:\.\d+){0,2}(?:-labs)?)$")


def check_syntax(value: str | None) -> None:
    """Accept Docker's official Dockerfile frontend names (built in here); refuse others."""
    if value is None:
        return
    name = value.strip()
    m = _OFFICIAL.match(name)
    if m and _TAG.match(m.group("tag") or "latest"):
        return
    raise InvalidArgument(
        f"the Dockerfile asks for the frontend image {name!r} (# syntax=): cove builds with "
        "its built-in Dockerfile frontend only, which implements docker/dockerfile:1 "
        "(1.x and labs tags); remove the syntax line or point it at docker/dockerfile:1"
    )


@dataclass
class CheckConfig:
    skip: set[str] = field(default_factory=set)
    skip_all: bool = False
    error: bool = False

    def enabled(self, rule: str) -> bool:
        return not self.skip_all and rule not in self.skip


def parse_check(value: str | None) -> CheckConfig:
    """``skip=A,B;error=true`` (keys case-insensitive; unknown keys are refused as
    BuildKit refuses them)."""
    cfg = CheckConfig()
    if not value:
        return cfg
    for part in value.split(";"):
        part = part.strip()
        if not part:
            continue
        key, eq, val = part.partition("=")
        key = key.strip().lower()
        if not eq:
            raise InvalidArgument(f"invalid check directive: {part!r}")
        if key == "skip":
            names = {v.strip() for v in val.split(",") if v.strip()}
            cfg.skip_all = "all" in {n.lower() for n in names}
            cfg.skip = names
        elif key == "error":
            if val.strip().lower() not in ("true", "false"):
                raise InvalidArgument(f"invalid check directive error value: {val!r}")
            cfg.error = val.strip().lower() == "true"
        else:
            raise InvalidArgument(f"invalid check directive option: {key!r}")
    return cfg
