"""Image references normalised as Docker does: ``busybox`` is docker.io/library/busybox:latest."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cove.errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """Full repository name: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_repository(self) -> str:
        """The name as Docker shows it: ``busybox``, ``user/app``, ``host:5000/app``."""
        if self.domain == DEFAULT_DOMAIN:
            if self.path.startswith("library/") and self.path.count("/") == 1:
                return self.path[len("library/") :]
            return self.path
        return self.repository

    def familiar(self) -> str:
        """``busybox:latest`` or ``app@sha256:...``, as ``images`` and ``inspect`` print it."""
        s = self.familiar_repository
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    def __str__(self) -> str:
        s = self.repository
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s


def _split_domain(name: str) -> tuple[str, str]:
    i = name.find("/")
    if i == -1:
        return DEFAULT_DOMAIN, "library/" + name
    first = name[:i]
    if "." in first or ":" in first or first == "localhost" or first != first.lower():
        return ("docker.io" if first == "index.docker.io" else first), name[i + 1 :]
    return DEFAULT_DOMAIN, name


def parse(ref: str, default_tag: str | None = "latest") -> Reference:
    """Parse and normalise ``ref``; the error text follows Docker's."""
    if not ref:
        raise InvalidArgument("invalid reference format")
    name, digest = ref, None
    if "@" in name:
        name, digest = name.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidArgument("invalid reference format")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidArgument("invalid reference format")
    if name != name.lower() and "/" not in name:
        raise InvalidArgument(
            f"invalid reference format: repository name (library/{name}) must be lowercase"
        )
    domain, path = _split_domain(name)
    if path != path.lower():
        raise InvalidArgument(
            f"invalid reference format: repository name ({path}) must be lowercase"
        )
    if not _PATH.match(path) or len(domain) + len(path) + 1 > 255:
        raise InvalidArgument("invalid reference format")
    if tag is None and digest is None:
        tag = default_tag
    return Reference(domain, path, tag, digest)


def normalize(ref: str) -> str:
    """The canonical ``repository:tag`` string used as a key in the image store."""
    return str(parse(ref))
