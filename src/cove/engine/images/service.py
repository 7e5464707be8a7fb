"""Image operations: list, inspect, history, tag, rmi, import, prune, df — Docker's shapes
and rules.

An image made by ``commit`` (or a build step) remembers its parent, as Docker's local
store does: ``history`` names the parent images of older entries, ``images`` hides untagged
parents unless ``-a``, ``rmi`` refuses to delete an image that has children and removes the
untagged parents it leaves behind (unless ``--no-prune``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from typing import Any, BinaryIO, cast

from cove.engine.context import EngineContext
from cove.engine.record import Container
from cove.engine.state import Status
from cove.errors import Conflict, InvalidArgument, NotFound
from cove.image.base import Image
from cove.image.filters import image_matches, matching_refs, prune_until
from cove.image.importer import import_rootfs
from cove.oci import reference
from cove.util.bridge import feed_thread
from cove.util.ids import short_id
from cove.util.jsontypes import Json
from cove.util.timefmt import parse_rfc3339

_ZERO = "0001-01-01T00:00:00Z"


class ImageService:
    """The local image operations, held by the engine (``engine.image_service``): built from
    the shared context's image store, snapshotter (its name for inspect), event bus, paths
    (the import spool) and container table (which images are in use); the engine forwards
    the image API to it."""

    def __init__(self, ctx: EngineContext) -> None:
        self.images = ctx.images
        self.snapshotter = ctx.snapshotter
        self.bus = ctx.bus
        self.paths = ctx.paths
        self.containers: Mapping[str, Container] = ctx.containers

    def _image(self, ref: str) -> Image:
        return self.images.resolve(ref)

    def _layer_sizes(self, image_id: str) -> list[int]:
        return [int(x.get("size", 0)) for x in self.images.record(image_id).get("layers", [])]

    def _container_count(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.containers.values():
            counts[c.data["Image"]] = counts.get(c.data["Image"], 0) + 1
        return counts

    def _image_summary(self, img: Image, containers: int = -1) -> Json:
        cfg = img.config.get("config") or {}
        return {
            "Id": img.id,
            "ParentId": self.images.parent(img.id) or "",
            "RepoTags": img.repo_tags,
            "RepoDigests": img.repo_digests,
            "Created": int(parse_rfc3339(img.config.get("created", _ZERO))),
            "Size": img.size,
            "SharedSize": -1,
            "VirtualSize": img.size,
            "Labels": cfg.get("Labels") or {},
            "Containers": containers,
        }

    def image_list(self, all: bool, filters: dict[str, list[str]], digests: bool) -> list[Json]:
        images = self.images.list()
        by_ref = {i.id: i for i in images}
        out: list[Json] = []
        for img in images:
            hidden = not all and not img.repo_tags and not img.repo_digests
            if hidden and self.images.children(img.id):
                continue  # an intermediate image, shown with -a only
            if not image_matches(img, filters, self._lookup(by_ref)):
                continue
            summary = self._image_summary(img)
            if filters.get("reference"):
                # dockerd lists only the names the pattern matched
                summary["RepoTags"], summary["RepoDigests"] = matching_refs(
                    img, filters["reference"]
                )
            out.append(summary)
        out.sort(key=lambda j: int(j["Created"]), reverse=True)
        return out

    def _lookup(self, known: dict[str, Image]) -> Any:
        def find(ref: str) -> Image:
            img = self.images.resolve(ref)
            return known.get(img.id, img)

        return find

    def image_inspect(self, ref: str) -> Json:
        img = self._image(ref)
        cfg = img.config
        return {
            "Id": img.id,
            "RepoTags": img.repo_tags,
            "RepoDigests": img.repo_digests,
            "Parent": self.images.parent(img.id) or "",
            "Comment": cfg.get("comment", ""),
            "Created": cfg.get("created", _ZERO),
            "Container": cfg.get("container", ""),
            "ContainerConfig": cfg.get("container_config") or {},
            "DockerVersion": cfg.get("docker_version", ""),
            "Author": cfg.get("author", ""),
            "Config": cfg.get("config") or {},
            "Architecture": cfg.get("architecture", "amd64"),
            "Variant": cfg.get("variant"),
            "Os": cfg.get("os", "linux"),
            "Size": img.size,
            "VirtualSize": img.size,
            "GraphDriver": {"Name": self.snapshotter.name, "Data": None},
            "RootFS": {"Type": "layers", "Layers": img.diff_ids},
            "Metadata": {"LastTagTime": self.images.last_tagged(img.id) or _ZERO},
        }

    def image_history(self, ref: str) -> list[Json]:
        img = self._image(ref)
        sizes = self._layer_sizes(img.id)
        entries: list[Json] = []
        layer = 0
        for h in img.config.get("history") or []:
            size = 0
            if not h.get("empty_layer"):
                size = sizes[layer] if layer < len(sizes) else 0
                layer += 1
            entries.append(
                {
                    "Id": "<missing>",
                    "Created": int(parse_rfc3339(h.get("created", _ZERO))),
                    "CreatedBy": h.get("created_by", ""),
                    "Tags": None,
                    "Size": size,
                    "Comment": h.get("comment", ""),
                }
            )
        entries.reverse()
        if not entries:  # an image without history still shows itself
            entries.append({"Id": "<missing>", "Created": 0, "CreatedBy": "", "Tags": None,
                            "Size": img.size, "Comment": ""})  # fmt: skip
        # Newest first, each entry belongs to the next image up the parent chain.
        cur: Image | None = img
        for e in entries:
            if cur is None:
                break
            e["Id"] = cur.id
            e["Tags"] = cur.repo_tags or None
            parent = self.images.parent(cur.id)
            cur = self.images.resolve(parent) if parent else None
        return entries

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
            if len(img.repo_tags) + len(img.repo_digests) <= 1 and users and not force:
                raise Conflict(
                    f'conflict: unable to remove repository reference "{ref}" (must force) - '
                    f"container {short_id(users[0][0])} is using its referenced image "
                    f"{short_id(img.id)}"
                )
            self.images.untag(name)
            out.append({"Untagged": name})
            self.bus.emit("image", "untag", img.id, {"name": name})
            out += self._untag_digests_left_alone(img.id, name)
            img = self._image(img.id)
            if img.repo_tags or img.repo_digests or users:
                return out
        else:
            sid = short_id(img.id)
            if len(img.repo_tags) > 1 and not force:
                raise Conflict(
                    f"conflict: unable to delete {sid} (must be forced) - image is referenced "
                    "in multiple repositories"
                )
            if self.images.children(img.id):
                raise Conflict(
                    f"conflict: unable to delete {sid} (cannot be forced) - image has "
                    "dependent child images"
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
            for t in [*img.repo_tags, *img.repo_digests]:
                self.images.untag(t)
                out.append({"Untagged": t})
                self.bus.emit("image", "untag", img.id, {"name": t})
            if users:
                return out  # forced: the names go, the image stays while containers use it
        if self.images.children(img.id):
            return out  # untagged only: the image is still a parent
        out.extend(self._delete_chain(img.id, noprune))
        return out

    def _untag_digests_left_alone(self, image_id: str, removed: str) -> list[Json]:
        """A tag removed and no other tag of its repository left: dockerd drops that
        repository's digest references too (each an ``Untagged`` line)."""
        if "@" in removed:
            return []
        repo = reference.parse(removed).familiar_repository
        img = self._image(image_id)
        if any(reference.parse(t).familiar_repository == repo for t in img.repo_tags):
            return []
        out: list[Json] = []
        for d in img.repo_digests:
            if d.partition("@")[0] == repo:
                self.images.untag(d)
                out.append({"Untagged": d})
                self.bus.emit("image", "untag", image_id, {"name": d})
        return out

    def _delete_chain(self, image_id: str, noprune: bool) -> list[Json]:
        """Delete the image, then (unless ``noprune``) each parent left untagged, unused
        and childless, as Docker does."""
        out: list[Json] = []
        while True:
            parent = self.images.parent(image_id)
            for d in self.images.delete(image_id):
                out.append({"Deleted": d})
            self.bus.emit("image", "delete", image_id, {"name": image_id})
            if noprune or parent is None:
                return out
            p = self.images.resolve(parent)
            if p.repo_tags or p.repo_digests or self._users(p.id) or self.images.children(p.id):
                return out
            image_id = p.id

    async def images_prune(self, filters: dict[str, list[str]]) -> Json:
        """``docker image prune``: dangling images (``dangling=false``: every image no
        container uses), filtered by ``until`` and ``label``."""
        dangling_only = (filters.get("dangling") or ["true"])[0].lower() in ("true", "1")
        until = prune_until(filters)
        used = set(self._container_count())
        deleted: list[Json] = []
        reclaimed = 0
        changed = True
        while changed:  # deleting a child may leave its parent prunable
            changed = False
            for img in self.images.list():
                if img.id in used or self.images.children(img.id):
                    continue
                if dangling_only and (img.repo_tags or img.repo_digests):
                    continue
                if until is not None and parse_rfc3339(img.config.get("created", _ZERO)) >= until:
                    continue
                if not image_matches(img, {k: v for k, v in filters.items() if "label" in k}):
                    continue
                for t in img.repo_tags + img.repo_digests:
                    self.images.untag(t)
                    deleted.append({"Untagged": t})
                for d in self.images.delete(img.id):
                    deleted.append({"Deleted": d})
                self.bus.emit("image", "delete", img.id, {"name": img.id})
                reclaimed += img.size
                changed = True
        self.bus.emit("image", "prune", "", {"reclaimed": str(reclaimed)})
        return {"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    def df_images(self) -> tuple[int, list[Json]]:
        """``system df``'s image side: the size of every distinct layer, and each image's
        summary with its container count and the size it shares with other images."""
        counts = self._container_count()
        images = self.images.list()
        layer_use: dict[str, int] = {}
        for img in images:
            for d in img.diff_ids:
                layer_use[d] = layer_use.get(d, 0) + 1
        summaries: list[Json] = []
        total = 0
        seen: set[str] = set()
        for img in images:
            sizes = self._layer_sizes(img.id)
            shared = sum(s for d, s in zip(img.diff_ids, sizes, strict=False) if layer_use[d] > 1)
            for d, s in zip(img.diff_ids, sizes, strict=False):
                if d not in seen:
                    seen.add(d)
                    total += s
            j = self._image_summary(img, counts.get(img.id, 0))
            j["SharedSize"] = shared
            summaries.append(j)
        return total, summaries

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
        origin = "-" if not isinstance(source, str) else source

        def spool_and_import(body: BinaryIO) -> Any:
            # the upload is spooled first: the importer looks at the compression and may
            # read the tar twice; all of it (writes included) off the event loop
            with os.fdopen(fd, "wb") as f:
                if isinstance(source, str):
                    _download(source, f)
                else:
                    shutil.copyfileobj(body, f, 1 << 20)
            with open(tmp, "rb") as f:
                return import_rootfs(self.images, f, changes, message, target, origin)

        try:
            if isinstance(source, str):
                img = await asyncio.to_thread(spool_and_import, cast(BinaryIO, None))
            else:
                img = await feed_thread(source, spool_and_import)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.bus.emit("image", "import", img.id, {"name": target or img.id})
        return str(img.id)


def _download(url: str, f: Any) -> None:
    if not url.startswith(("http://", "https://")):
        raise InvalidArgument(f"unsupported import source: {url}")
    import urllib.request  # some 3 MB (http.client, email): loaded by the first import from a URL

    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            while chunk := r.read(1 << 20):
                f.write(chunk)
    except OSError as e:
        raise NotFound(f'Get "{url}": {e}') from None


def _looks_like_id(ref: str, image_id: str) -> bool:
    r = ref[7:] if ref.startswith("sha256:") else ref
    return image_id[7:].startswith(r) and all(ch in "0123456789abcdef" for ch in r)
