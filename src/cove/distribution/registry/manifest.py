"""Manifests and indexes (Docker schema2 and OCI): media types, parsing, platform choice.

Pure: bytes in, data out.  What the registry sent is checked before it is trusted: the
manifest's digest against the one asked for, every descriptor's digest syntax and size.
"""

from __future__ import annotations

import json
import platform as _platform
from dataclasses import dataclass
from typing import Any

from cove.errors import InvalidArgument, NotFound
from cove.oci.digest import validate

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MANIFESTS = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEXES = (DOCKER_LIST, OCI_INDEX)
ACCEPT = ", ".join((*MANIFESTS, *INDEXES))
FOREIGN = (
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
)

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le":
         "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}  # fmt: skip


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict[str, Any] | None = None
    urls: tuple[str, ...] = ()

    @classmethod
    def parse(cls, d: Any) -> Descriptor:
        if not isinstance(d, dict):
            raise InvalidArgument("invalid descriptor in manifest")
        try:
            size = int(d["size"])
            digest = validate(str(d["digest"]))
        except (KeyError, ValueError, TypeError) as e:
            raise InvalidArgument(f"invalid descriptor in manifest: {e}") from None
        if size < 0:
            raise InvalidArgument("invalid descriptor in manifest: negative size")
        plat = d.get("platform") if isinstance(d.get("platform"), dict) else None
        return cls(str(d.get("mediaType", "")), digest, size, plat, tuple(d.get("urls") or ()))

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "size": self.size, "digest": self.digest}


@dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


def host_platform() -> tuple[str, str, str]:
    arch = _ARCH.get(_platform.machine(), _platform.machine())
    return "linux", arch, "v7" if arch == "arm" else ("v8" if arch == "arm64" else "")


def parse_platform(text: str | None) -> tuple[str, str, str]:
    """``os[/arch[/variant]]``; empty means the host's."""
    if not text:
        return host_platform()
    parts = text.lower().split("/")
    if len(parts) > 3 or not parts[0]:
        raise InvalidArgument(f'"{text}": unknown operating system or architecture')
    host = host_platform()
    os_ = parts[0]
    arch = parts[1] if len(parts) > 1 else host[1]
    arch = _ARCH.get(arch, arch)
    variant = parts[2] if len(parts) > 2 else ""
    return os_, arch, variant


def media_type_of(raw: bytes, header: str) -> str:
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidArgument("invalid manifest: not JSON") from None
    mt = data.get("mediaType") if isinstance(data, dict) else None
    if isinstance(mt, str) and mt:
        return mt
    header = header.split(";")[0].strip()
    if header in (*MANIFESTS, *INDEXES):
        return header
    if isinstance(data, dict) and "manifests" in data:
        return OCI_INDEX
    if isinstance(data, dict) and data.get("schemaVersion") == 1:
        raise InvalidArgument(
            "support for Docker Image Format v1 and Docker Image manifest version 2, schema 1 "
            "has been removed"
        )
    return OCI_MANIFEST


def parse_manifest(raw: bytes) -> Manifest:
    data = json.loads(raw)
    try:
        config = Descriptor.parse(data["config"])
        layers = tuple(Descriptor.parse(x) for x in data.get("layers") or [])
    except (KeyError, TypeError) as e:
        raise InvalidArgument(f"invalid manifest: {e}") from None
    return Manifest(str(data.get("mediaType") or OCI_MANIFEST), config, layers)


def select_platform(raw: bytes, want: tuple[str, str, str], ref: str) -> Descriptor:
    """The index entry for ``want`` (os, arch, variant); a missing variant matches any,
    as containerd's matcher does for the default variant."""
    data = json.loads(raw)
    entries = [Descriptor.parse(m) for m in data.get("manifests") or []]
    os_, arch, variant = want
    best: Descriptor | None = None
    for d in entries:
        p = d.platform or {}
        if p.get("os", "") != os_ or p.get("architecture", "") != arch:
            continue
        v = p.get("variant", "")
        if variant and v and v != variant:
            continue
        if best is None or (variant and v == variant):
            best = d
    if best is None:
        plat = "/".join(x for x in want if x)
        raise NotFound(f"no matching manifest for {plat} in the manifest list entries")
    return best


def schema2(config: Descriptor, layers: list[Descriptor]) -> bytes:
    """A Docker schema2 manifest, serialised as Docker's pusher does (indented)."""
    body = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": config.to_json(),
        "layers": [x.to_json() for x in layers],
    }
    return json.dumps(body, indent=3).encode()
