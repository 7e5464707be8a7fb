"""Image operations: list, inspect, history, tag, rmi, import — Docker's shapes and rules."""

from __future__ import annotations

import asyncio
import os
import tempfile
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

from cove.engine.base import parse_rfc3339
from cove.engine.execs import ExecOps
from cove.engine.state import Status
from cove.errors import Conflict, InvalidArgument, NotFound
from cove.image.base import Image
from cove.image.importer import import_rootfs
from cove.oci import reference
from cove.util.ids import short_id

Json = dict[str, Any]
_ZERO = "0001-01-01T00:00:00Z"


class ImageOps(ExecOps):
    def _image(self, ref: str) -> Image:
        return self.images.resolve(ref)

    def image_list(self, all: bool, filters: dict[str, list[str]], digests: bool) -> list[Json]:
        out: list[Json] = []
        for img in self.images.list():
            if not _image_match(img, filters):
                continue
            cfg = img.config.get("config") or {}
            out.append(
                {
                    "Id": img.id,
                    "ParentId": "",
                    "RepoTags": img.repo_tags,
                    "RepoDigests": img.repo_digests,
                    "Created": int(parse_rfc3339(img.config.get("created", _ZERO))),
                    "Size": img.size,
                    "SharedSize": -1,
                    "Labels": cfg.get("Labels") or {},
                    "Containers": -1,
                }
            )
        out.sort(key=lambda j: int(j["Created"]), reverse=True)
        return out

    def image_inspect(self, ref: str) -> Json:
        img = self._image(ref)
        cfg = img.config
        return {
            "Id": img.id,
            "RepoTags": img.repo_tags,
            "RepoDigests": img.repo_digests,
            "Parent": "",
            "Comment": cfg.get("comment", ""),
            "Created": cfg.get("created", _ZERO),
            "DockerVersion": cfg.get("docker_version", ""),
            "Author": cfg.get("author", ""),
            "Config": cfg.get("config") or {},
            "Architecture": cfg.get("architecture", "amd64"),
            "Variant": cfg.get("variant"),
            "Os": cfg.get("os", "linux"),
            "Size": img.size,
            "GraphDriver": {"Name": self.snapshotter.name, "Data": None},
            "RootFS": {"Type": "layers", "Layers": img.diff_ids},
            "Metadata": {"LastTagTime": _ZERO},
        }

    def image_history(self, ref: str) -> list[Json]:
        img = self._image(ref)
        hist = img.config.get("history") or []
        out: list[Json] = []
        for i, h in enumerate(reversed(hist)):
            out.append(
                {
                    "Id": img.id if i == 0 else "<missing>",
                    "Created": int(parse_rfc3339(h.get("created", _ZERO))),
                    "CreatedBy": h.get("created_by", ""),
                    "Tags": img.repo_tags if i == 0 else None,
                    "Size": int(h.get("_size", 0)) if not h.get("empty_layer") else 0,
                    "Comment": h.get("comment", ""),
                }
            )
        if out and not any(o["Size"] for o in out):
            out[0]["Size"] = img.size
        return out

    async def image_tag(self, ref: str, repo: str, tag: str | None) -> None:
        img = self._image(ref)
        target = repo + (":" + tag if tag else "")
        reference.parse(target)
        self.images.tag(img.id, target)
        self.bus.emit("image", "tag", img.id, {"name": reference.parse(target).familiar()})

    def _users(self, image_id: str) -> list[tuple[str, bool]]:
        return [
            (c.id, c.status in (Status.RUNNING, Status.PAUSED))
            for c in self.containers.values()
            if c.data["Image"] == image_id
        ]

    async def image_remove(self, ref: str, force: bool, noprune: bool) -> list[Json]:
        img = self._image(ref)
        users = self._users(img.id)
        running = [cid for cid, r in users if r]
        out: list[Json] = []
        if not _looks_like_id(ref, img.id):
            name = reference.parse(ref).familiar()
            if len(img.repo_tags) <= 1 and users and not force:
                raise Conflict(
                    f'conflict: unable to remove repository reference "{ref}" (must force) - '
                    f"container {short_id(users[0][0])} is using its referenced image "
                    f"{short_id(img.id)}"
                )
            self.images.untag(name)
            out.append({"Untagged": name})
            self.bus.emit("image", "untag", img.id, {"name": name})
            img = self._image(img.id)
            if img.repo_tags or users:
                return out
        else:
            sid = short_id(img.id)
            if len(img.repo_tags) > 1 and not force:
                raise Conflict(
                    f"conflict: unable to delete {sid} (must be forced) - image is referenced "
                    "in multiple repositories"
                )
            if running:
                raise Conflict(
                    f"conflict: unable to delete {sid} (cannot be forced) - image is being "
                    f"used by running container {short_id(running[0])}"
                )
            if users and not force:
                raise Conflict(
                    f"conflict: unable to delete {sid} (must be forced) - image is being used "
                    f"by stopped container {short_id(users[0][0])}"
                )
            for t in list(img.repo_tags):
                self.images.untag(t)
                out.append({"Untagged": t})
            if users:
                return out  # forced: the names go, the image stays while containers use it
        for d in self.images.delete(img.id):
            out.append({"Deleted": d})
        self.bus.emit("image", "delete", img.id, {"name": img.id})
        return out

    async def image_import(
        self,
        source: AsyncIterator[bytes] | str,
        repo: str | None,
        tag: str | None,
        changes: list[str],
        message: str | None,
        platform: str | None,
    ) -> str:
        target = None
        if repo:
            target = repo + (":" + tag if tag else "")
            reference.parse(target)
        os.makedirs(self.paths.tmp, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.paths.tmp, prefix="import-")
        try:
            with os.fdopen(fd, "wb") as f:
                if isinstance(source, str):
                    await asyncio.to_thread(_download, source, f)
                else:
                    async for chunk in source:
                        f.write(chunk)
            with open(tmp, "rb") as f:
                img = await asyncio.to_thread(
                    import_rootfs,
                    self.images,
                    f,
                    changes,
                    message,
                    target,
                    "-" if not isinstance(source, str) else source,
                )
        finally:
            os.unlink(tmp)
        self.bus.emit("image", "import", img.id, {"name": target or img.id})
        return str(img.id)


def _download(url: str, f: Any) -> None:
    if not url.startswith(("http://", "https://")):
        raise InvalidArgument(f"unsupported import source: {url}")
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            while chunk := r.read(1 << 20):
                f.write(chunk)
    except OSError as e:
        raise NotFound(f'Get "{url}": {e}') from None


def _looks_like_id(ref: str, image_id: str) -> bool:
    r = ref[7:] if ref.startswith("sha256:") else ref
    return image_id[7:].startswith(r) and all(ch in "0123456789abcdef" for ch in r)


def _image_match(img: Image, filters: dict[str, list[str]]) -> bool:
    for key, vals in filters.items():
        if key == "dangling":
            want = vals and vals[0] in ("true", "1")
            if want != (not img.repo_tags):
                return False
        elif key == "reference":
            import fnmatch

            if not any(
                fnmatch.fnmatch(t, v) or fnmatch.fnmatch(t.rsplit(":", 1)[0], v)
                for t in img.repo_tags
                for v in vals
            ):
                return False
        elif key == "label":
            labels = (img.config.get("config") or {}).get("Labels") or {}
            for v in vals:
                k, eq, want_v = v.partition("=")
                if k not in labels or (eq and labels[k] != want_v):
                    return False
    return True
