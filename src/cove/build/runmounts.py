"""What ``RUN --mount`` puts in the step's container, and taking it away afterwards.

Each mount becomes an entry of the container's ``HostConfig.Mounts`` (so the engine treats
its mount point as no content of the layer) or an environment variable:

- ``cache``: a directory under ``<data-root>/build/cache-mounts`` kept between builds,
  never committed; ``sharing=locked`` makes builds take turns, ``private`` gives a second
  user a fresh directory of its own.  ``cove builder prune`` removes the unused ones.
- ``bind``: the context, a ``--build-context`` directory, a stage or an image, read-only
  unless ``rw``; a writable one is an overlay on a throwaway upper directory, so what the
  step writes there is discarded.
- ``tmpfs``: a tmpfs of ``size`` bytes.
- ``secret``: the value the client gave, as a read-only file in a private directory of
  this build (on /dev/shm when there is one) or as an environment variable; neither
  reaches the image, its history or the cache key.
- ``ssh``: the client's agent socket, with ``SSH_AUTH_SOCK`` pointing at it.

Contract: ``close()`` undoes everything (overlays unmounted, temp directories and secret
files removed, locks released) whatever happened to the step.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import posixpath
import shutil
import tempfile
from typing import Any

from cove.build.backend import BuildError
from cove.build.context import BuildContext
from cove.build.core import BuildBase
from cove.build.dockerfile.parser import Node
from cove.build.dockerfile.shell import expand
from cove.build.mounts import MountSpec, parse_mount, parse_network
from cove.build.rootfs import RootfsView, layer_dirs
from cove.build.state import Stage
from cove.oci.digest import chain_ids
from cove.snapshot.mount import mount_overlay, unmount
from cove.snapshot.overlay import userns_options
from cove.util.jsontypes import Json

CACHE_DIR = os.path.join("build", "cache-mounts")
_USERS: dict[str, int] = {}  # cache mount directory -> RUN steps using it now
_LOCKS: dict[str, asyncio.Lock] = {}
NO_SECRETS_API = (
    "the docker CLI's classic builder API cannot carry secrets: "
    "give it with `cove build --secret id={id},src=FILE` (or env=VAR)"
)


def cache_dirs(data_root: str) -> str:
    return os.path.join(data_root, CACHE_DIR)


def in_use(path: str) -> bool:
    return _USERS.get(path, 0) > 0


def tree_digest(root: str) -> str:
    """A digest of a directory tree's names, modes, sizes, link targets and contents (what
    a bind of the context adds to the step's cache key)."""
    h = hashlib.sha256()
    if not os.path.isdir(root):
        with contextlib.suppress(OSError), open(root, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames + dirnames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, root)}\0{st.st_mode}\0{st.st_size}\0".encode())
            if os.path.islink(p):
                h.update(os.readlink(p).encode())
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
    return h.hexdigest()


class RunMounts:
    """The mounts of one RUN step (built by ``MountOps.setup_mounts``)."""

    def __init__(self, tmp: str) -> None:
        self.tmp = tmp
        self.mounts: list[Json] = []
        self.env: dict[str, str] = {}  # secrets as variables, SSH_AUTH_SOCK
        self.key: list[str] = []  # what the step's cache key learns from the mounts
        self.has_secret = False
        self._overlays: list[str] = []
        self._dirs: list[str] = []
        self._users: list[str] = []
        self._locks: list[asyncio.Lock] = []

    def workdir(self, prefix: str, base: str | None = None) -> str:
        d = tempfile.mkdtemp(prefix=prefix, dir=base or self.tmp)
        self._dirs.append(d)
        return d

    def overlay(self, lowers: list[str]) -> str:
        """A writable overlay of ``lowers`` (topmost first) on a throwaway upper directory;
        blocking (run in a thread)."""
        base = self.workdir("build-mount-")
        merged, upper, work = (os.path.join(base, x) for x in ("m", "u", "w"))
        for d in (merged, upper, work):
            os.mkdir(d)
        if not lowers:
            lowers = [self.workdir("build-empty-")]
        opts = [f"lowerdir={':'.join(lowers)}", f"upperdir={upper}", f"workdir={work}",
                *userns_options()]  # fmt: skip
        mount_overlay(merged, opts)
        self._overlays.append(merged)
        return merged

    def use(self, path: str) -> None:
        _USERS[path] = _USERS.get(path, 0) + 1
        self._users.append(path)

    async def lock(self, path: str) -> None:
        lk = _LOCKS.setdefault(path, asyncio.Lock())
        await lk.acquire()
        self._locks.append(lk)

    def close(self) -> None:
        """Blocking (unmounts, rmtree): run in a thread."""
        for m in reversed(self._overlays):
            with contextlib.suppress(OSError):
                unmount(m)
        for d in reversed(self._dirs):
            shutil.rmtree(d, ignore_errors=True)
        for p in self._users:
            _USERS[p] -= 1
        self._overlays, self._dirs, self._users = [], [], []

    def release(self) -> None:
        for lk in self._locks:
            lk.release()
        self._locks = []


class MountSource:
    """Where a bind or cache ``from=`` takes its files: a directory on the host, or image
    layers (merged by an overlay when mounted)."""

    def __init__(self, directory: str | None, layers: list[str], key: str) -> None:
        self.directory = directory
        self.layers = layers
        self.key = key

    def path_in(self, rm: RunMounts, source: str, writable: bool) -> str:
        """The host path of ``source`` inside this source (blocking)."""
        if self.directory is not None:
            if not writable:
                return self.directory
            return rm.overlay([self.directory])
        merged = rm.overlay(self.layers)
        inner = RootfsView(self.layers).resolve(source or "/")  # symlinks stay inside
        return os.path.join(merged, inner.lstrip("/"))


def step_network(step: str | None, build: str | None) -> str:
    """``RUN --network`` wins over the build's ``--network``; ``default`` is the build's."""
    if step in ("none", "host"):
        return step
    return build or "default"


class MountOps(BuildBase):
    """Mixin of the builder: the ``--mount`` and ``--network`` of a RUN step."""

    def run_flags(self, stage: Stage, node: Node) -> tuple[list[MountSpec], str | None]:
        """The step's ``--mount`` specs and ``--network`` (variables expanded)."""
        specs: list[MountSpec] = []
        network: str | None = None
        env = stage.env()
        ssh = 0
        for f in node.flags:
            name, _, value = f[2:].partition("=")
            value = expand(value, env, self.escape)
            if name == "mount":
                spec = parse_mount(value, ssh)
                ssh += spec.type == "ssh"
                specs.append(spec)
            elif name == "network":
                network = parse_network(value)
            elif name == "security":
                raise BuildError("RUN --security is not supported by cove (it needs entitlements)")
        return specs, network

    def missing_secrets(self, specs: list[MountSpec]) -> list[str]:
        """Warnings for optional secrets the client did not give (the step runs without)."""
        out = []
        for m in specs:
            if m.type == "secret" and not m.required and m.id not in self.opts.secrets:
                why = NO_SECRETS_API.format(id=m.id)
                out.append(f"[Warning] secret {m.id!r} was not given, the step runs without it "
                           f"({why})\n")  # fmt: skip
        return out

    async def find_base(self, ref: str) -> Any:  # overridden by the builder (FROM's lookup)
        return self.backend.images.resolve(ref)

    async def _mount_source(self, ref: str, source: str) -> MountSource:
        named = self.named.get(ref.lower()) if ref else None
        ctx = named if isinstance(named, BuildContext) else (self.context if not ref else None)
        if ctx is not None:
            path = ctx.resolve(source or ".", follow=True)
            if not os.path.exists(path):
                raise BuildError(f"failed to compute cache key: {source or '.'!r} not found")
            return MountSource(path, [], "ctx:" + await asyncio.to_thread(tree_digest, path))
        ref = named if isinstance(named, str) else ref
        stage = self.stage_for(ref)
        diff_ids = stage.diff_ids if stage is not None else (await self.find_base(ref)).diff_ids
        chain = chain_ids(diff_ids)
        dirs = layer_dirs(self.backend.snapshotter, chain[-1][7:] if chain else None)
        return MountSource(None, dirs, "layers:" + ",".join(diff_ids) + ":" + source)

    async def setup_mounts(self, specs: list[MountSpec], workdir: str) -> RunMounts:
        rm = RunMounts(self.backend.paths.tmp)
        try:
            for m in specs:
                if m.target and not m.target.startswith("/"):
                    m.target = posixpath.join(workdir or "/", m.target)
                await self._one(rm, m)
        except BaseException:
            await asyncio.to_thread(rm.close)
            rm.release()
            raise
        return rm

    async def _one(self, rm: RunMounts, m: MountSpec) -> None:
        rm.key.append(m.key_text())
        ro = not m.writable
        if m.type == "tmpfs":
            entry: Json = {"Type": "tmpfs", "Target": m.target}
            if m.size:
                entry["TmpfsOptions"] = {"SizeBytes": m.size}
            rm.mounts.append(entry)
        elif m.type == "bind":
            src = await self._mount_source(m.src_from, m.source)
            rm.key.append(src.key)
            host = await asyncio.to_thread(src.path_in, rm, m.source, m.writable)
            if not os.path.lexists(host):
                raise BuildError(f"failed to mount {m.target}: {m.source or '/'!r} not found")
            rm.mounts.append({"Type": "bind", "Source": host, "Target": m.target, "ReadOnly": ro})
        elif m.type == "cache":
            host = await self._cache_dir(rm, m)
            rm.mounts.append({"Type": "bind", "Source": host, "Target": m.target, "ReadOnly": ro})
        elif m.type == "secret":
            await asyncio.to_thread(self._secret, rm, m)  # a file written: off the loop
        elif m.type == "ssh":
            sock = (self.opts.ssh or {}).get(m.id)
            if sock is None:
                if m.required:
                    raise BuildError(
                        f"no SSH agent {m.id!r} forwarded: use cove build --ssh {m.id}"
                    )
                return
            rm.mounts.append({"Type": "bind", "Source": sock, "Target": m.target})
            rm.env["SSH_AUTH_SOCK"] = m.target

    def _secret(self, rm: RunMounts, m: MountSpec) -> None:
        value = (self.opts.secrets or {}).get(m.id)
        if value is None:
            if m.required:
                raise BuildError(f"secret {m.id} not found: " + NO_SECRETS_API.format(id=m.id))
            return
        rm.has_secret = True
        if m.env:
            rm.env[m.env] = value.decode("utf-8", "replace")
        if not m.target:
            return
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        d = rm.workdir("cove-secret-", shm)
        path = os.path.join(d, "secret")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(value)
        os.chown(path, m.uid or 0, m.gid or 0)
        os.chmod(path, 0o400 if m.mode is None else m.mode)
        os.chmod(d, 0o711)
        rm.mounts.append({"Type": "bind", "Source": path, "Target": m.target, "ReadOnly": True})

    async def _cache_dir(self, rm: RunMounts, m: MountSpec) -> str:
        root = cache_dirs(self.backend.paths.data_root)
        path = os.path.join(root, hashlib.sha256(m.id.encode()).hexdigest()[:32])
        if m.sharing == "locked":
            await rm.lock(path)
        elif m.sharing == "private" and in_use(path):
            path = rm.workdir("build-cache-private-")
            os.rmdir(path)  # made again below, with the mount's owner and mode
        data = os.path.join(path, "data")
        if not os.path.isdir(data):
            seed = await self._mount_source(m.src_from, m.source) if m.src_from else None
            await asyncio.to_thread(self._new_cache, rm, data, m, seed)
        rm.use(path)
        return data

    @staticmethod
    def _new_cache(rm: RunMounts, data: str, m: MountSpec, seed: MountSource | None) -> None:
        parent = os.path.dirname(data)
        os.makedirs(parent, mode=0o700, exist_ok=True)
        with open(os.path.join(parent, "id"), "w") as f:
            f.write(m.id)  # what builder prune and system df call it
        tmp = tempfile.mkdtemp(prefix=".new-", dir=parent)
        if seed is not None:
            src = seed.path_in(rm, m.source, False)
            if os.path.isdir(src):
                shutil.copytree(src, tmp, symlinks=True, dirs_exist_ok=True)
        os.chown(tmp, m.uid or 0, m.gid or 0)
        os.chmod(tmp, 0o755 if m.mode is None else m.mode)
        try:
            os.rename(tmp, data)  # a build racing us may have made it first: keep theirs
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
