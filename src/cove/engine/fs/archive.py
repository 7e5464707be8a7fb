"""``docker cp``: ``HEAD/GET/PUT /containers/{id}/archive`` on running and stopped containers.

The container's filesystem is read and written from the daemon through a ``RootView``
(its root plus its volumes and binds, symlinks resolved inside it).  A stopped container's
root filesystem is mounted for the copy and unmounted after it unless the container
started meanwhile; mounting and unmounting happen under the container's lock, the copy
itself works on descriptors, so a concurrent stop or start cannot pull it away.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import stat
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from typing import Any

from cove.engine.context import EngineContext
from cove.engine.fs.archive_paths import RootView, ViewMount, join, split
from cove.engine.fs.volumes import VolumeService
from cove.engine.record import Container
from cove.engine.state import Status
from cove.errors import InvalidArgument, NotFound
from cove.oci.user import resolve_user
from cove.runtime.proc import pid_start_time
from cove.snapshot import mount as mounter
from cove.util.bridge import feed_thread, stream_thread
from cove.util.ids import new_id
from cove.util.jsontypes import Json
from cove.util.timefmt import rfc3339_nano

_LIVE = (Status.RUNNING, Status.PAUSED, Status.RESTARTING)


def go_file_mode(mode: int) -> int:
    """A unix st_mode as Go's os.FileMode bits (what the docker CLI decodes)."""
    out = stat.S_IMODE(mode) & 0o777
    if mode & stat.S_ISUID:
        out |= 1 << 23
    if mode & stat.S_ISGID:
        out |= 1 << 22
    if mode & stat.S_ISVTX:
        out |= 1 << 20
    kinds = {stat.S_IFDIR: 1 << 31, stat.S_IFLNK: 1 << 27, stat.S_IFBLK: 1 << 26,
             stat.S_IFCHR: (1 << 26) | (1 << 21), stat.S_IFIFO: 1 << 25,
             stat.S_IFSOCK: 1 << 24}  # fmt: skip
    return out | kinds.get(stat.S_IFMT(mode), 0)


def _mtime(st: os.stat_result) -> str:
    return rfc3339_nano(st.st_mtime_ns)


def stat_header(st: Json) -> str:
    """``X-Docker-Container-Path-Stat``: base64 (URL alphabet) of the stat JSON."""
    return base64.urlsafe_b64encode(json.dumps(st, separators=(",", ":")).encode()).decode()


def top_name(path: str) -> str:
    """The name the archive's top entry gets: the requested base name, "." for ``dir/.``."""
    if path.endswith("/.") or path == ".":
        return "."
    if not split(path):
        return "/"  # the whole root: entries "/bin", "/etc"... as dockerd sends them
    comps = split(path)
    return comps[-1] if comps else "."


class _TarStream:
    """The GET body: tar chunks made in a bridge thread; closing it stops the worker, waits
    for it to leave the view, then releases the view (also when the client went away
    before the first chunk)."""

    def __init__(self, chunks: Iterator[bytes], release: Any) -> None:
        self._chunks = chunks
        self._release = release
        self._stream: AsyncGenerator[bytes, None] | None = None

    def __aiter__(self) -> _TarStream:
        return self

    def _produce(self, put: Callable[[bytes], None]) -> None:
        for chunk in self._chunks:
            put(chunk)

    async def __anext__(self) -> bytes:
        if self._stream is None:
            self._stream = stream_thread(self._produce)
        try:
            return await anext(self._stream)
        except StopAsyncIteration:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):  # the worker's failure is moot now
                await stream.aclose()
        release, self._release = self._release, None
        if release is not None:
            await release()


class ArchiveOps:
    """``docker cp`` (stat, get, put), an object the engine holds (``engine.archive``): built
    from the shared context (lookup, locks, paths, options, the snapshotter) and the volume
    service (mount points and volume mounts)."""

    def __init__(self, ctx: EngineContext, volumes: VolumeService) -> None:
        self.ctx = ctx
        self.volumes = volumes

    def _view_mounts(self, c: Container, ref: str) -> list[ViewMount]:
        out = [
            ViewMount(f"/etc/{name}", os.path.join(c.dir, name))
            for name in ("resolv.conf", "hostname", "hosts")
            if os.path.exists(os.path.join(c.dir, name))
        ]
        for mp in self.volumes.mount_points(c):
            if mp["Type"] == "tmpfs":
                continue  # lives in the container's mount namespace only
            src = (
                self.volumes.volume_mount(mp["Name"], ref)
                if mp["Type"] == "volume"
                else mp["Source"]
            )
            if os.path.exists(src):
                out.append(ViewMount(mp["Destination"], src, not mp["RW"]))
        return out

    def _live_root(self, c: Container) -> int | None:
        """A running container's root as its processes see it (mounts and all), or None."""
        pid = int(c.state.get("Pid") or 0)
        if c.status not in (Status.RUNNING, Status.PAUSED) or not pid:
            return None
        try:
            fd = os.open(f"/proc/{pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return None
        start = pid_start_time(pid)
        if not start or start != c.pid_start:
            os.close(fd)  # the pid was recycled: not our container any more
            return None
        return fd

    @contextlib.asynccontextmanager
    async def _container_view(self, c: Container) -> AsyncIterator[RootView]:
        async with self.ctx.lock(c.id):
            live_fd = self._live_root(c)
        if live_fd is not None:
            try:
                yield RootView(live_fd, [], live=True)
            finally:
                os.close(live_fd)
            return
        ref = f"cp-{new_id()[:16]}"
        rootfs = self.ctx.paths.rootfs(c.id)
        async with self.ctx.lock(c.id):
            mounted_here = not mounter.mounts_under(rootfs)
            if mounted_here:
                os.makedirs(rootfs, exist_ok=True)
                mounts = self.ctx.snapshotter.mounts(c.id)
                await asyncio.to_thread(mounter.mount_all, mounts, rootfs)  # fuse: a process
            try:
                root_fd = os.open(rootfs, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                view_mounts = self._view_mounts(c, ref)
            except BaseException:
                if mounted_here:
                    mounter.unmount(rootfs)
                raise
        view = RootView(root_fd, view_mounts, bool(c.host_config.get("ReadonlyRootfs")))
        try:
            await asyncio.to_thread(view.ensure_mountpoints)
            yield view
        finally:
            os.close(root_fd)
            async with self.ctx.lock(c.id):
                for mp in self.volumes.mount_points(c):
                    if mp["Type"] == "volume":
                        with contextlib.suppress(Exception):
                            self.volumes.driver().unmount(mp["Name"], ref)
                if mounted_here and c.status not in _LIVE:
                    with contextlib.suppress(Exception):
                        await asyncio.to_thread(mounter.unmount, rootfs)

    def _stat(self, view: RootView, ref: str, path: str) -> tuple[list[str], Json]:
        if not path.startswith("/"):
            path = "/" + path
        follow = path.endswith("/") or path.endswith("/.")
        comps = view.resolve(path, follow=follow)
        try:
            st = view.lstat(comps)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"Could not find the file {path} in container {ref}") from None
        if path.endswith("/") and len(path) > 1 and not stat.S_ISDIR(st.st_mode):
            raise InvalidArgument(f"{path}: not a directory")
        link = ""
        if stat.S_ISLNK(st.st_mode):
            link = join(view.resolve(path, follow=True))
        name = "/" if not split(path) else top_name(path)
        info = {"name": name, "size": st.st_size, "mode": go_file_mode(st.st_mode),
                "mtime": _mtime(st), "linkTarget": link}  # fmt: skip
        return comps, info

    async def container_archive_stat(self, ref: str, path: str) -> Json:
        c = self.ctx.find(ref)
        async with self._container_view(c) as view:
            return (await asyncio.to_thread(self._stat, view, ref, path))[1]

    async def container_archive_get(self, ref: str, path: str) -> tuple[Json, AsyncIterator[bytes]]:
        c = self.ctx.find(ref)
        cm = self._container_view(c)
        view = await cm.__aenter__()
        try:
            comps, info = await asyncio.to_thread(self._stat, view, ref, path)
        except BaseException as e:
            await cm.__aexit__(type(e), e, e.__traceback__)
            raise

        async def release() -> None:
            await cm.__aexit__(None, None, None)

        # docker cp's tar side is imported by its first use, not at coved's start
        from cove.engine.fs.archive_tar import tar_view

        ids = self.ctx.options.userns.to_container if self.ctx.options.userns else None
        return info, _TarStream(tar_view(view, comps, top_name(path), ids=ids), release)

    async def container_archive_put(
        self,
        ref: str,
        path: str,
        body: AsyncIterator[bytes],
        no_overwrite_dir_non_dir: bool,
        copy_uid_gid: bool,
    ) -> None:
        c = self.ctx.find(ref)
        if not path.startswith("/"):
            path = "/" + path
        async with self._container_view(c) as view:
            dest = await asyncio.to_thread(view.resolve, path, True)
            try:
                st = await asyncio.to_thread(view.lstat, dest)
            except (FileNotFoundError, NotADirectoryError):
                raise NotFound(f"Could not find the file {path} in container {ref}") from None
            if not stat.S_ISDIR(st.st_mode):
                raise InvalidArgument("extraction point is not a directory")
            # -a: dockerd makes the files the container user's when the container has one
            # (Config.User); otherwise, as without -a, the archive's owners are kept
            owner = self._container_user(c, view) if copy_uid_gid and c.config.get("User") else None
            from cove.engine.fs.archive_tar import Extractor  # imported by the first cp in

            ids = self.ctx.options.userns.to_host if self.ctx.options.userns else None
            ex = Extractor(view, dest, no_overwrite_dir_non_dir, owner, ids)
            await feed_thread(body, ex.run)

    def _container_user(self, c: Container, view: RootView) -> tuple[int, int]:
        """``cp -a`` into a container: its files belong to the container's user."""
        passwd = view.read_text(view.resolve("/etc/passwd"))
        group = view.read_text(view.resolve("/etc/group"))
        uid, gid, _gids, _home = resolve_user(str(c.config.get("User") or ""), passwd, group)
        return uid, gid
