"""``load``'s source: a docker-archive (docker 20.10, podman, cove) or an OCI image layout
archive (skopeo's ``oci-archive:``, docker 25+), plain or gzip/bzip2/xz-compressed.

The archive is read once, as a stream (``docker load`` pipes it in): small members are kept
in memory, big ones spooled to files in ``spool_dir`` while being hashed, so the file
written here can become the stored blob without a second copy.  Then ``manifest.json``
(docker-archive) or ``index.json`` (OCI) says which configs and layers make which image.
Nothing from the archive is trusted: member names may not leave the archive, OCI blobs must
match their digests, layers are verified against the config's diff IDs by the destination,
and a truncated or malformed archive is refused before any image is recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import posixpath
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol, cast

from cove.distribution.base import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_LAYER_ZSTD,
    Layer,
    SourceImage,
)
from cove.distribution.copy import diff_ids_of
from cove.distribution.tarstream import TarStream
from cove.errors import InvalidArgument, NotFound
from cove.oci import reference

_SMALL = 1 << 20  # members up to this size stay in memory
_CHUNK = 1 << 20
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64"}


def _bad(what: str) -> InvalidArgument:
    return InvalidArgument(f"invalid archive: {what}")


@dataclass
class Member:
    size: int
    digest: str  # sha256 of the member's bytes
    data: bytes | None = None  # small members
    path: str | None = None  # spooled members
    magic: bytes = b""

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return open(self.path, "rb")


class _Data(Protocol):
    def copy(self, sink: Callable[[memoryview], object]) -> int: ...


class _TarfileData:
    """A member's data read through ``tarfile`` (compressed archives)."""

    def __init__(self, tf: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        self.f = tf.extractfile(m)
        self.left = m.size

    def copy(self, sink: Callable[[memoryview], object]) -> int:
        if not self.left or self.f is None:
            return 0
        chunk = self.f.read(min(_CHUNK, self.left))
        if not chunk:
            raise EOFError("unexpected end of data")
        self.left -= len(chunk)
        sink(memoryview(chunk))
        return len(chunk)


def _media_type(magic: bytes) -> str:
    if magic.startswith(b"\x1f\x8b"):
        return OCI_LAYER_GZIP
    if magic.startswith(b"\x28\xb5\x2f\xfd"):
        return OCI_LAYER_ZSTD
    return OCI_LAYER  # plain (bzip2/xz are detected again when the layer is unpacked)


class ArchiveSource:
    """Implements ``ImageSource`` over a readable binary stream."""

    def __init__(self, stream: BinaryIO, spool_dir: str) -> None:
        self.stream = stream
        self.spool = tempfile.mkdtemp(dir=spool_dir, prefix="load-")
        self.members: dict[str, Member] = {}
        self.links: dict[str, str] = {}
        self._images: list[SourceImage] | None = None

    # --- reading the tar ------------------------------------------------------------------
    def _read_all(self) -> None:
        try:
            head = self._peek()
            if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:5] == b"\xfd7zXZ":
                with tarfile.open(fileobj=self.stream, mode="r|*", bufsize=1 << 20) as tf:
                    for m in tf:
                        self._member(m, _TarfileData(tf, m))
            else:
                ts = TarStream(self.stream)
                for m in ts:
                    self._member(m, ts)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
            if isinstance(e, OSError) and not isinstance(e, EOFError) and e.errno is not None:
                raise
            text = str(e) or type(e).__name__
            if "unexpected end" in text or isinstance(e, EOFError):
                text = "unexpected EOF"
            raise _bad(text) from None

    def _name(self, raw: str) -> str:
        name = posixpath.normpath(raw.lstrip("/"))
        if name == ".." or name.startswith("../"):
            raise _bad(f"member {raw!r} leads outside the archive")
        return name

    def _peek(self) -> bytes:
        peek = getattr(self.stream, "peek", None)
        if peek is not None:
            return bytes(peek(8)[:8])
        buffered = io.BufferedReader(cast(Any, self.stream), 1 << 20)
        self.stream = cast(BinaryIO, buffered)
        return bytes(buffered.peek(8)[:8])

    def _member(self, m: tarfile.TarInfo, src: _Data) -> None:
        name = self._name(m.name)
        if m.issym() or m.islnk():
            base = posixpath.dirname(name) if m.issym() else ""
            self.links[name] = self._name(posixpath.join(base, m.linkname))
            return
        if not m.isreg():
            return
        h = hashlib.sha256()
        if m.size <= _SMALL:
            parts: list[bytes] = []
            while src.copy(lambda v: parts.append(bytes(v))):
                pass
            data = b"".join(parts)
            h.update(data)
            self.members[name] = Member(m.size, "sha256:" + h.hexdigest(), data=data,
                                        magic=data[:4])  # fmt: skip
            return
        fd, path = tempfile.mkstemp(dir=self.spool)
        magic = b""

        def write(view: memoryview) -> None:
            nonlocal magic
            if not magic:
                magic = bytes(view[:4])
            h.update(view)
            while view:
                view = view[os.write(fd, view) :]

        try:
            while src.copy(write):
                pass
        finally:
            os.close(fd)
        self.members[name] = Member(m.size, "sha256:" + h.hexdigest(), path=path, magic=magic)

    def _get(self, name: str, seen: int = 0) -> Member:
        name = self._name(name)
        if name in self.members:
            return self.members[name]
        if name in self.links and seen < 16:
            return self._get(self.links[name], seen + 1)
        raise _bad(f"{name} is missing")

    def _json(self, name: str) -> Any:
        m = self._get(name)
        if m.data is None:
            raise _bad(f"{name} is too large")
        try:
            return json.loads(m.data)
        except ValueError as e:
            raise _bad(f"{name}: {e}") from None

    # --- ImageSource ----------------------------------------------------------------------
    def images(self) -> list[SourceImage]:
        """Reads the whole archive on the first call; later calls return the same list."""
        if self._images is None:
            self._read_all()
            self._images = self._parse()
        return self._images

    def _parse(self) -> list[SourceImage]:
        if "manifest.json" in self.members:
            return self._docker_images()
        if "index.json" in self.members:
            return self._oci_images()
        if not self.members:
            raise _bad("empty archive")
        raise _bad("neither manifest.json (docker-archive) nor index.json (OCI) was found")

    def _docker_images(self) -> list[SourceImage]:
        entries = self._json("manifest.json")
        if not isinstance(entries, list):
            raise _bad("manifest.json is not a list")
        out: list[SourceImage] = []
        for e in entries:
            if not isinstance(e, dict) or not isinstance(e.get("Config"), str):
                raise _bad("manifest.json entry without Config")
            config = self._config_bytes(self._get(e["Config"]))
            diff_ids = diff_ids_of(config)
            paths = e.get("Layers") or []
            if not isinstance(paths, list) or len(paths) != len(diff_ids):
                raise _bad(f"{len(paths)} layers listed for an image of {len(diff_ids)}")
            layers = []
            for d, p in zip(diff_ids, paths, strict=True):
                m = self._get(str(p))
                layers.append(Layer(d, m.digest, m.size, _media_type(m.magic)))
            names = [str(t) for t in e.get("RepoTags") or []]
            for n in names:
                reference.parse(n)  # a malformed name fails the load before it starts
            out.append(SourceImage(config, layers, names))
        return out

    def _config_bytes(self, m: Member) -> bytes:
        if m.data is None:
            raise _bad("image config is too large")
        return m.data

    def _blob(self, digest: str) -> Member:
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            raise _bad(f"unsupported digest {digest!r}")
        m = self._get("blobs/sha256/" + digest[7:])
        if m.digest != digest:
            raise _bad(f"blob {digest} does not match its digest ({m.digest})")
        return m

    def _oci_images(self) -> list[SourceImage]:
        out: list[SourceImage] = []
        index = self._json("index.json")
        for desc in self._manifests(index, 0):
            names = self._oci_names(desc.get("annotations") or {})
            try:
                manifest = json.loads(self._blob(desc["digest"]).data or b"")
                cdesc = manifest["config"]
                config = self._config_bytes(self._blob(cdesc["digest"]))
                mlayers = manifest.get("layers") or []
            except (KeyError, TypeError, ValueError) as e:
                raise _bad(f"manifest {desc.get('digest')}: {e}") from None
            diff_ids = diff_ids_of(config)
            if len(mlayers) != len(diff_ids):
                raise _bad(f"{len(mlayers)} layers listed for an image of {len(diff_ids)}")
            layers = []
            for d, ld in zip(diff_ids, mlayers, strict=True):
                m = self._blob(ld.get("digest", ""))
                layers.append(Layer(d, m.digest, m.size, _media_type(m.magic)))
            existing = next((i for i in out if i.config == config), None)
            if existing is not None:
                existing.names.extend(n for n in names if n not in existing.names)
            else:
                out.append(SourceImage(config, layers, names))
        if not out:
            raise _bad("index.json lists no image for this platform")
        return out

    def _manifests(self, index: Any, depth: int) -> list[dict[str, Any]]:
        """Image manifests of an index, nested indexes resolved to this host's platform."""
        if depth > 4 or not isinstance(index, dict):
            raise _bad("malformed index")
        arch = _GOARCH.get(platform.machine(), platform.machine())
        out: list[dict[str, Any]] = []
        for desc in index.get("manifests") or []:
            mt = desc.get("mediaType", "")
            plat = desc.get("platform") or {}
            if plat and (plat.get("os", "linux") != "linux" or plat.get("architecture") != arch):
                continue
            if mt in (OCI_INDEX, DOCKER_MANIFEST_LIST):
                nested = self._blob(desc["digest"])
                try:
                    inner = json.loads(nested.data or b"")
                except ValueError as e:
                    raise _bad(f"index {desc['digest']}: {e}") from None
                found = self._manifests(inner, depth + 1)
                ann = desc.get("annotations")
                if ann:
                    for f in found[:1]:
                        f.setdefault("annotations", ann)
                out.extend(found)
            elif mt in ("", DOCKER_MANIFEST) or mt.endswith("manifest.v1+json"):
                out.append(dict(desc))
        return out

    def _oci_names(self, ann: dict[str, Any]) -> list[str]:
        for key in ("io.containerd.image.name", "org.opencontainers.image.ref.name"):
            value = ann.get(key)
            if not isinstance(value, str) or not value:
                continue
            if key.endswith("ref.name") and ":" not in value and "/" not in value:
                continue  # a bare tag names no repository
            try:
                return [reference.parse(value).familiar()]
            except InvalidArgument:
                continue
        return []

    def open_layer(self, image: SourceImage, layer: Layer) -> BinaryIO:
        for m in self.members.values():
            if m.digest == layer.digest:
                return m.open()
        raise NotFound(f"layer {layer.digest} is not in the archive")

    def spooled_path(self, layer: Layer) -> str | None:
        """The file holding ``layer``'s bytes when it was spooled (not kept in memory)."""
        for m in self.members.values():
            if m.digest == layer.digest and m.path is not None:
                return m.path
        return None

    def close(self) -> None:
        import shutil

        with contextlib.suppress(OSError):
            shutil.rmtree(self.spool)
