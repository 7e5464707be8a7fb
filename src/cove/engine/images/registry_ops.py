"""Registry operations: pull, push, login check, search — the distribution client driven
from the engine, its progress turned into Docker's JSON message stream.

The transfers are blocking (threads for parallel blobs); each runs in a thread of the
bridge (``cove.util.bridge``), which hands its messages to the API through a bounded
channel.  An error raised before the first message reaches the route as an exception (an
HTTP status); a later one ends the stream as ``errorDetail``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from cove.engine.context import EngineOptions, Paths
from cove.engine.events import EventBus
from cove.errors import InvalidArgument, NotFound
from cove.image.base import ImageStore
from cove.oci import reference
from cove.store.base import BlobStore
from cove.util.bridge import stream_thread
from cove.util.jsontypes import Json

# The registry client is imported by the first pull, push, login or search (regauth in
# each), not at coved's start (issue 16's idle memory)
if TYPE_CHECKING:
    from cove.distribution.registry.endpoints import RegistryConfig
    from cove.distribution.registry.meta import LayerMetadata

Sink = Callable[[Json], None]
T = TypeVar("T")


class RegistryOps:
    """The registry client side of the engine, an object it holds (``engine.registry``): it
    needs only the image store, the options, the paths and the event bus."""

    def __init__(
        self, images: ImageStore, options: EngineOptions, paths: Paths, bus: EventBus
    ) -> None:
        self.images = images
        self.options = options
        self.paths = paths
        self.bus = bus

    def _registry_config(self) -> RegistryConfig:
        from cove.distribution.registry.endpoints import RegistryConfig

        o = self.options
        return RegistryConfig(
            list(o.registry_mirrors),
            list(o.insecure_registries),
            o.max_concurrent_downloads,
            o.max_concurrent_uploads,
        )

    _cove_layer_meta: LayerMetadata | None = None  # made at the first push or pull

    def _blobs(self) -> BlobStore:
        return self.images.blobs

    def _layer_meta(self) -> LayerMetadata:
        meta = self._cove_layer_meta
        if meta is None:
            from cove.distribution.registry.meta import LayerMetadata

            path = os.path.join(self.paths.data_root, "distribution", "v2metadata.json")
            meta = LayerMetadata(path)
            self._cove_layer_meta = meta
        return meta

    def _stream(self, work: Callable[[Sink], None]) -> AsyncGenerator[Json, None]:
        # the bridge bounds the messages in flight; a client that leaves makes the
        # transfer's next message raise, which ends the pull or push
        return stream_thread(work, maxsize=64)

    # --- pull -----------------------------------------------------------------------------
    async def image_pull(
        self, image: str, tag: str | None, platform: str | None, auth: str | None
    ) -> AsyncIterator[Json]:
        from cove.distribution.registry.pull import Puller, repository_tags

        name = image
        if tag:
            name += ("@" if tag.startswith("sha256:") else ":") + tag
        ref0 = reference.parse(name, default_tag=None)
        from cove.distribution.registry import auth as regauth

        creds = regauth.decode_registry_auth(auth)
        cfg = self._registry_config()
        if ref0.tag or ref0.digest:
            refs = [ref0]
        else:  # no tag at all: every tag of the repository (``pull --all-tags``)
            tags = await asyncio.to_thread(repository_tags, cfg, ref0, creds)
            refs = [reference.Reference(ref0.domain, ref0.path, t) for t in tags]
        blobs = self._blobs()
        meta = self._layer_meta()
        results: list[Any] = []

        def work(sink: Sink) -> None:
            puller = Puller(cfg, self.images, blobs, meta, sink)
            for r in refs:
                results.append(puller.pull(r, creds, platform))

        async with contextlib.aclosing(self._stream(work)) as stream:
            async for msg in stream:  # closed at once when our own client leaves
                yield msg
        fresh = any(r.fresh for r in results)
        for r in refs:
            self.bus.emit("image", "pull", r.familiar(), {"name": r.familiar()})
        shown = ref0.familiar() if refs == [ref0] else ref0.familiar_repository
        word = "Downloaded newer image" if fresh else "Image is up to date"
        yield {"status": f"Status: {word} for {shown}"}

    # --- push -----------------------------------------------------------------------------
    async def image_push(self, name: str, tag: str | None, auth: str | None) -> AsyncIterator[Json]:
        from cove.distribution.registry.push import Pusher

        ref0 = reference.parse(name + (":" + tag if tag else ""), default_tag=None)
        if ref0.digest:
            raise InvalidArgument("cannot push a digest reference")
        if ref0.tag:
            todo = [(ref0, self._resolve_for_push(ref0))]
        else:
            todo = []
            for key, image_id in sorted(self.images_names().items()):
                r = reference.parse(key, default_tag=None)
                if r.repository == ref0.repository and r.tag:
                    todo.append((r, self.images.resolve(image_id)))
            if not todo:
                raise NotFound(f"An image does not exist locally with the tag: {ref0.familiar()}")
        from cove.distribution.registry import auth as regauth

        creds = regauth.decode_registry_auth(auth)
        cfg = self._registry_config()
        blobs = self._blobs()
        meta = self._layer_meta()

        def work(sink: Sink) -> None:
            pusher = Pusher(cfg, blobs, meta, sink)
            sink({"status": f"The push refers to repository [{ref0.repository}]"})
            sess = pusher.session(ref0, creds)
            try:
                for r, img in todo:
                    digest, _ = pusher.push(sess, r, img)
                    self.images.add_repo_digest(img.id, f"{r.repository}@{digest}")
            finally:
                sess.close()

        async with contextlib.aclosing(self._stream(work)) as stream:
            async for msg in stream:  # closed at once when our own client leaves
                yield msg
        for r, _img in todo:
            self.bus.emit("image", "push", r.familiar(), {"name": r.familiar()})

    def _resolve_for_push(self, ref: reference.Reference) -> Any:
        try:
            return self.images.resolve(str(ref))
        except NotFound:
            raise NotFound(
                f"An image does not exist locally with the tag: {ref.familiar_repository}"
            ) from None

    def images_names(self) -> dict[str, str]:
        return dict(self.images.names())

    # --- login and search -----------------------------------------------------------------
    async def auth(self, body: Json) -> Json:
        from cove.distribution.registry import auth as regauth
        from cove.distribution.registry.account import check_login

        creds = regauth.Credentials(
            str(body.get("username") or ""),
            str(body.get("password") or ""),
            str(body.get("identitytoken") or ""),
            str(body.get("registrytoken") or ""),
        )
        address = str(body.get("serveraddress") or "")
        await asyncio.to_thread(check_login, self._registry_config(), address, creds)
        return {"Status": "Login Succeeded", "IdentityToken": ""}

    async def distribution_inspect(self, name: str, auth: str | None) -> Json:
        """``GET /distribution/{name}/json``: the registry's descriptor and platforms."""
        from cove.distribution.registry.inspect import inspect_distribution

        ref = reference.parse(name)
        from cove.distribution.registry import auth as regauth

        creds = regauth.decode_registry_auth(auth)
        cfg = self._registry_config()
        return await asyncio.to_thread(inspect_distribution, cfg, ref, creds)

    async def image_search(
        self, term: str, limit: int, filters: dict[str, list[str]], auth: str | None
    ) -> list[Json]:
        from cove.distribution.registry.account import search

        check = _search_filter(filters)
        from cove.distribution.registry import auth as regauth

        creds = regauth.decode_registry_auth(auth)
        found = await asyncio.to_thread(search, self._registry_config(), term, limit, creds)
        return [
            {
                "name": str(r.get("name", "")),
                "description": str(r.get("description") or ""),
                "star_count": int(r.get("star_count") or 0),
                "is_official": bool(r.get("is_official")),
                "is_automated": bool(r.get("is_automated")),
            }
            for r in found
            if check(r)
        ]


def _search_filter(filters: dict[str, list[str]]) -> Callable[[Json], bool]:
    """Docker's search filters: is-official, is-automated (booleans), stars (a minimum)."""
    for key in filters:
        if key not in ("is-official", "is-automated", "stars"):
            raise InvalidArgument(f"invalid filter '{key}'")
    want: dict[str, bool] = {}
    for key in ("is-official", "is-automated"):
        for v in filters.get(key, []):
            if v.lower() not in ("true", "false", "1", "0"):
                raise InvalidArgument(f"invalid filter '{key}={v}'")
            want[key] = v.lower() in ("true", "1")
    stars = 0
    for v in filters.get("stars", []):
        try:
            stars = max(stars, int(v))
        except ValueError:
            raise InvalidArgument(f"invalid filter 'stars={v}'") from None

    def check(r: Json) -> bool:
        if int(r.get("star_count") or 0) < stars:
            return False
        return all(bool(r.get(k.replace("-", "_"))) == v for k, v in want.items())

    return check
