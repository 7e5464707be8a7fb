"""Images and containers as files: ``save`` and ``load`` (docker-archive / OCI archives
through the copy engine) and ``export`` (a container's merged filesystem as a flat tar).

The transfers are blocking (tar, hashing, unpacking) and run in a worker thread; the bytes
cross between the thread and the event loop through bounded queues, so a slow client
slows the worker instead of filling memory.  Whatever can be checked before the first byte
(names that do not exist, a missing container) raises before the stream starts, so the
route still answers with an error status.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from cove.archive import tar_directory
from cove.engine.context import EngineContext
from cove.errors import InvalidArgument, SystemError_
from cove.oci import reference
from cove.oci.digest import sha256_bytes
from cove.snapshot import mount as mounter
from cove.store.base import BlobProvider
from cove.util.bridge import FromLoop, feed, stream_thread
from cove.util.jsontypes import Json
from cove.util.units import human_size

# The copy engine (cove.distribution, about 1,000 lines) is imported by the first save or
# load, not at coved's start (issue 16's idle memory)
if TYPE_CHECKING:
    from cove.distribution.base import Layer, SourceImage

log = logging.getLogger("cove.engine")
_END = object()
_BATCH = 1 << 20


def _from_thread(produce: Callable[[Callable[[bytes], None]], None]) -> AsyncIterator[bytes]:
    """Run ``produce(write)`` in a bridge thread; yield what it writes, batched to about
    1 MiB (tar writes a few KiB at a time)."""

    def batched(put: Callable[[bytes], None]) -> None:
        buf: list[bytes] = []
        size = 0

        def write(data: bytes) -> None:
            nonlocal size
            buf.append(data)
            size += len(data)
            if size >= _BATCH:
                put(b"".join(buf))
                buf.clear()
                size = 0

        produce(write)
        if buf:
            put(b"".join(buf))

    return stream_thread(batched)


class ExportOps:
    """save, load and export, an object the engine holds (``engine.transfers``)."""

    def __init__(self, eng: EngineContext) -> None:
        self.eng = eng

    def _layer_blobs(self) -> BlobProvider:
        return self.eng.images.blobs

    # --- save -----------------------------------------------------------------------------
    def image_save(self, names: list[str]) -> AsyncIterator[bytes]:
        """``docker save``: the archive's bytes.  Unknown names raise NotFound here."""
        if not names:
            raise InvalidArgument("no images specified")
        from cove.distribution.archive_out import ArchiveWriter
        from cove.distribution.copy import copy_images
        from cove.distribution.local import LocalSource

        source = LocalSource(self.eng.images, self._layer_blobs(), names)
        images = source.images()  # resolves every name before the stream starts

        def produce(write: Callable[[bytes], None]) -> None:
            copy_images(source, ArchiveWriter(write))

        for image in images:
            image_id = sha256_bytes(image.config)
            self.eng.bus.emit("image", "save", image_id, {"name": image_id})
        return _from_thread(produce)

    # --- load -----------------------------------------------------------------------------
    async def image_load(self, body: AsyncIterator[bytes], quiet: bool) -> AsyncIterator[Json]:
        """``docker load``: Docker's JSON messages; errors end the stream as
        ``errorDetail`` (the route has sent 200 already, as dockerd does)."""
        os.makedirs(self.eng.paths.tmp, exist_ok=True)
        _drop_stale_spools(self.eng.paths.tmp, self.eng.started_at)
        inbox = FromLoop()

        def work(put: Callable[[Json], None]) -> None:
            def progress(event: str, image: SourceImage, layer: Layer | None) -> None:
                if event == "layer" and layer is not None and not quiet:
                    size = human_size(max(layer.size, 0))
                    put(
                        {
                            "status": "Loading layer",
                            "progressDetail": {"current": layer.size, "total": layer.size},
                            "progress": "[" + "=" * 49 + ">]  " + f"{size}/{size}",
                            "id": layer.diff_id[7:19],
                        }
                    )

            try:
                for msg in self._load(io.BufferedReader(inbox, 1 << 20), progress):
                    put(msg)
            finally:
                inbox.close()  # a worker that stopped early stops the feeder too

        feeder = asyncio.ensure_future(feed(body, inbox))
        try:
            async with contextlib.aclosing(stream_thread(work)) as stream:
                async for msg in stream:  # closed at once when the client leaves
                    yield msg
        finally:
            if not feeder.done():
                feeder.cancel()
            await asyncio.wait([feeder])
            if not feeder.cancelled():
                feeder.exception()  # the worker saw it as a read error already

    def _load(self, stream: BinaryIO, progress: Any) -> list[Json]:
        """The load itself, in the worker: the archive into the store, then the lines
        dockerd prints for it."""
        from cove.distribution.archive_in import ArchiveSource
        from cove.distribution.copy import copy_images
        from cove.engine.images.loaddest import LoadDestination

        source = ArchiveSource(stream, self.eng.paths.tmp)
        dest = LoadDestination(self.eng.images, source)
        done = copy_images(source, dest, progress)
        with contextlib.suppress(Exception):
            while stream.read(1 << 20):  # drain what follows the tar's end
                pass
        out: list[Json] = []
        for ref, _new, old in dest.moved:
            if old is not None:
                text = f"The image {ref} already exists, renaming the old one with ID"
                out.append({"stream": f"{text} {old} to empty string\n"})
        for image, image_id in done:
            self.eng.bus.emit("image", "load", image_id, {"name": image_id})
            if image.names:
                for n in image.names:
                    name = reference.parse(n).familiar()
                    out.append({"stream": f"Loaded image: {name}\n"})
            else:
                out.append({"stream": f"Loaded image ID: {image_id}\n"})
        return out

    # --- export ---------------------------------------------------------------------------
    def container_export(self, ref: str) -> AsyncIterator[bytes]:
        """``docker export``: the container's merged root filesystem as a flat tar."""
        c = self.eng.find(ref)
        rootfs = self.eng.paths.rootfs(c.id)
        ids = self.eng.options.userns.to_container if self.eng.options.userns else None  # remapped

        def produce(write: Callable[[bytes], None]) -> None:
            if mounter.is_mountpoint(rootfs):  # running: its rootfs is mounted already
                for chunk in tar_directory(rootfs, ids=ids):
                    write(chunk)
                return
            with _mounted(self.eng.snapshotter.mounts(c.id), self.eng.paths.tmp) as target:
                for chunk in tar_directory(target, ids=ids):
                    write(chunk)

        self.eng.bus.emit("container", "export", c.id, {"name": c.name})
        return _from_thread(produce)


def _drop_stale_spools(tmp: str, started_at: float) -> None:
    """Spool and export directories an earlier daemon left behind (it was killed)."""
    for name in os.listdir(tmp):
        path = os.path.join(tmp, name)
        if not name.startswith(("load-", "export-")):
            continue
        with contextlib.suppress(OSError, SystemError_):
            if os.stat(path).st_mtime < started_at:
                # an export cut off with a container's root mounted here: unmount it first,
                # seen in the mount table (os.path.ismount misses the native driver's bind
                # mount), or rmtree would delete the container's files through it
                mounter.unmount(path)
                if not mounter.is_mountpoint(path):
                    shutil.rmtree(path)


@contextlib.contextmanager
def _mounted(mounts: Any, tmp_root: str) -> Iterator[str]:
    os.makedirs(tmp_root, exist_ok=True)
    target = tempfile.mkdtemp(dir=tmp_root, prefix="export-")
    try:
        mounter.mount_all(mounts, target)
        try:
            yield target
        finally:
            mounter.unmount(target)
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(target)
