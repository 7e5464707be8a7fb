"""``docker commit``: a container's changes become a new image on top of its own.

Shape of the operation: resolve and validate everything first (names, ``-c`` changes, the
layer limit), then, under the container's lock and with the container frozen when asked
(``pause``, Docker's default), take its diff as a layer tar straight into the image store.
The new image record is written only after its layer is stored, and its name only after
the record: a crash at any point leaves unreferenced data that the store's gc collects at
the next start, never a half-visible image.
"""

from __future__ import annotations

import asyncio
import json
import logging

from cove.archive import tar_changes
from cove.archive.tarwriter import chunks_stream
from cove.engine.context import EngineContext
from cove.engine.images.changes import changes_of
from cove.engine.record import Container
from cove.engine.state import Status
from cove.errors import CoveError, InvalidArgument
from cove.image.changes import apply_changes
from cove.image.commit import commit_config
from cove.image.local import MAX_LAYERS, max_depth_error
from cove.oci import reference
from cove.snapshot.diff import DELETED
from cove.util.jsontypes import Json

log = logging.getLogger("cove.engine")


def commit_target(repo: str | None, tag: str | None) -> str | None:
    """``repo[:tag]`` checked as Docker checks it; None when no name was asked for."""
    if not repo:
        if tag:
            raise InvalidArgument("tag is specified without a repository")
        return None
    target = repo + (":" + tag if tag else "")
    ref = reference.parse(target)
    if ref.digest:
        raise InvalidArgument("refusing to create a tag with a digest reference")
    return target


def _store_diff(eng: EngineContext, c: Container, parent_diff_ids: list[str]) -> str | None:
    """The container's diff as a layer of the image store; None when nothing changed."""
    changes = changes_of(eng.snapshotter, c)
    if not changes:
        return None
    if len(parent_diff_ids) + 1 > MAX_LAYERS:
        raise max_depth_error(len(parent_diff_ids) + 1)
    entries = [(ch.path, ch.kind == DELETED) for ch in changes]
    ids = eng.options.userns.to_container if eng.options.userns else None
    stream = chunks_stream(tar_changes(eng.snapshotter.upper_dir(c.id), entries, ids=ids))
    return eng.images.add_layer(stream, parent_diff_ids)


async def container_commit(
    eng: EngineContext,
    ref: str,
    repo: str | None,
    tag: str | None,
    comment: str,
    author: str,
    changes: list[str],
    pause: bool,
    config: Json | None,
) -> str:
    c = eng.find(ref)
    target = commit_target(repo, tag)
    apply_changes({}, list(changes))  # a bad -c fails before anything is done
    base = eng.images.resolve(str(c.data["Image"]))
    async with eng.lock(c.id):
        frozen = False
        if pause and c.status == Status.RUNNING:
            try:
                await eng.runtime.pause(c.id)
                frozen = True
            except CoveError as e:  # a container that just exited has nothing to freeze
                log.debug("commit: pausing %s: %s", c.id, e)
        try:
            diff_id = await asyncio.to_thread(_store_diff, eng, c, base.diff_ids)
        finally:
            if frozen:
                await eng.runtime.resume(c.id)
        cfg = commit_config(
            base.config,
            c.config,
            container_id=c.id,
            user_config=config,
            changes=changes,
            diff_id=diff_id,
            author=author,
            comment=comment,
        )
        image_id = await asyncio.to_thread(_record_image, eng, cfg, base.id, target)
    attrs = {"comment": comment, "imageID": image_id}
    if target is not None:
        attrs["imageRef"] = reference.parse(target).familiar()
    eng.emit(c, "commit", attrs)
    return image_id


def _record_image(eng: EngineContext, cfg: Json, parent: str, target: str | None) -> str:
    """The image record and its name, together or not at all."""
    raw = json.dumps(cfg, separators=(",", ":")).encode()
    with eng.images.transaction() as txn:
        image = txn.create_raw(raw, parent=parent)
        if target is not None:
            txn.tag(image.id, target)
        txn.commit()
    return image.id
