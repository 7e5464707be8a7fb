"""What every build step shares: options, stages, the cache and committing images."""

from __future__ import annotations

import asyncio
import hashlib
import json

from cove.build.backend import BuildBackend, BuildOptions
from cove.build.cache import BuildCache, step_key
from cove.build.cachefrom import CacheSources
from cove.build.context import BuildContext
from cove.build.state import Stage, child_config
from cove.errors import NotFound
from cove.image.config import rfc3339_nano
from cove.util.jsontypes import Json


def short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def content_key(stage: Stage) -> str | None:
    """What a step's cache key starts from: the stage's content (its layers and its
    container config), not the parent image's ID, which also carries creation times and
    history.  A step rebuilt with the same outcome, or the same base reached another way,
    lets the steps after it hit the cache."""
    if stage.image_id is None:
        return None
    content = [stage.diff_ids, stage.config.get("config"), stage.config.get("author")]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def msg(text: str) -> Json:
    return {"stream": text}


class BuildBase:
    def __init__(
        self,
        backend: BuildBackend,
        context: BuildContext,
        opts: BuildOptions,
        named: dict[str, BuildContext | str] | None = None,
    ) -> None:
        self.backend = backend
        self.context = context
        self.opts = opts
        # --build-context: a name -> a directory, or the image reference FROM/COPY use
        self.named: dict[str, BuildContext | str] = {k.lower(): v for k, v in (named or {}).items()}
        self.cache = BuildCache(backend.paths.data_root)
        self.stages: dict[int, Stage] = {}  # by Dockerfile index, as FROM creates them
        self.finished: dict[int, Stage] = {}  # stages whose last step is done
        self.names: dict[str, int] = {}  # stage name -> index
        self.used_args: set[str] = set()
        self.escape = "\\"
        self.global_args: dict[str, str] = {}
        self._sources: dict[int, CacheSources] = {}  # per stage: each follows its own source

    def stage_for(self, ref: str) -> Stage | None:
        """A finished stage named (or numbered) ``ref``; None when ``ref`` is no stage."""
        low = ref.lower()
        if low in self.names:
            return self.finished.get(self.names[low])
        if ref.isdigit():
            return self.finished.get(int(ref))
        return None

    # --- committing ----------------------------------------------------------------------
    async def ensure_image(self, stage: Stage) -> str:
        if stage.image_id is None:
            img = await asyncio.to_thread(self.backend.images.create, stage.config)
            stage.image_id = img.id
        return stage.image_id

    def probe(self, stage: Stage, created_by: str, extra: str = "") -> tuple[str, str | None]:
        """(cache key, cached image ID or None)."""
        key = step_key(content_key(stage), created_by, extra)
        if self.opts.nocache:
            return key, None
        found: str | None = None
        if hit := self.cache.get(key):
            try:
                found = self.backend.images.resolve(hit).id
            except NotFound:
                self.cache.forget(key)
        if not self.opts.cachefrom:
            return key, found
        sources = self._sources.get(stage.index)
        if sources is None:
            sources = self._sources[stage.index] = CacheSources(
                self.backend.images, self.opts.cachefrom
            )
        if found is not None and sources.allows(found):
            return key, found
        return key, sources.match(stage.config, stage.image_id, created_by)

    def use_cached(self, stage: Stage, image_id: str) -> list[Json]:
        img = self.backend.images.resolve(image_id)
        stage.config = child_config(img.config)
        stage.image_id = img.id
        return [msg(" ---> Using cache\n"), msg(f" ---> {short(img.id)}\n")]

    async def commit(
        self, stage: Stage, key: str, created_by: str, diff_id: str | None
    ) -> list[Json]:
        """Record the stage's (already edited) config as a new image, with one history
        entry; ``diff_id`` is the step's new layer, None for a config-only step."""
        parent = stage.image_id
        now = rfc3339_nano()
        entry: Json = {"created": now, "created_by": created_by}
        if diff_id is None:
            entry["empty_layer"] = True
        else:
            rootfs = stage.config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
            rootfs["diff_ids"] = [*rootfs.get("diff_ids", []), diff_id]
        stage.config["created"] = now
        stage.config.setdefault("history", []).append(entry)
        raw = json.dumps(stage.config, separators=(",", ":")).encode()
        img = await asyncio.to_thread(self.backend.images.create_raw, raw, parent)
        stage.image_id = img.id
        self.cache.put(key, img.id)
        return [msg(f" ---> {short(img.id)}\n")]
