"""Volumes: the ``/volumes`` API and the container side of volumes (create, copy-up,
mount at start, release at exit, ``rm -v``).

Contract: a failed ``container create`` removes the volumes it created (``volumes_abort``);
a volume is never removed while a container (in any state) refers to it; ``rm -v`` and
``--rm`` remove only anonymous volumes no other container uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Mapping

from cove.engine import recover
from cove.engine.context import EngineContext
from cove.engine.fs import mounts
from cove.engine.fs.archive_paths import RootView
from cove.engine.fs.mounts import MountPoint
from cove.engine.record import Container
from cove.errors import Conflict, CoveError, InvalidArgument, NotFound, NotImplementedYet
from cove.snapshot import mount as mounter
from cove.snapshot.fsutil import copy_tree
from cove.util.ids import new_id
from cove.util.jsontypes import Json
from cove.util.labels import labels_match
from cove.volume.base import ANONYMOUS_LABEL, Volume, VolumeDriver

log = logging.getLogger("cove.engine")


def _truthy(values: list[str]) -> bool | None:
    if not values:
        return None
    v = values[-1].lower()
    if v in ("1", "true"):
        return True
    if v in ("0", "false"):
        return False
    raise InvalidArgument(f"invalid filter 'dangling={values[-1]}'")


class VolumeService:
    """The volume side of the engine, held by it (``engine.volume_service``): built from the
    shared context (paths, the snapshotter for copy-up, the event bus, the container table
    and its lookup) and the volume driver; the container operations call it at create,
    start, exit and removal, and the engine forwards the ``/volumes`` API to it."""

    def __init__(self, ctx: EngineContext, driver: VolumeDriver | None) -> None:
        self.paths = ctx.paths
        self.snapshotter = ctx.snapshotter
        self.bus = ctx.bus
        self.containers: Mapping[str, Container] = ctx.containers
        self.find = ctx.find
        self.volume_driver = driver
        self._new_volumes: dict[str, list[str]] = {}
        self._mounted_by: dict[str, set[str]] = {}  # volume -> containers it is mounted for

    def driver(self) -> VolumeDriver:
        if self.volume_driver is None:
            raise NotImplementedYet("this daemon has no volume driver")
        return self.volume_driver

    @staticmethod
    def mount_points(c: Container) -> list[MountPoint]:
        return mounts.points_of(c)

    def volume_users(self, name: str) -> list[str]:
        return [
            c.id
            for c in self.containers.values()
            if any(mp["Type"] == "volume" and mp["Name"] == name for mp in self.mount_points(c))
        ]

    # --- the /volumes API -----------------------------------------------------------------
    def _view(self, v: Volume) -> Json:
        return v.inspect()

    async def volume_create(self, body: Json) -> Json:
        name = str(body.get("Name") or "")
        driver = str(body.get("Driver") or "local")
        if driver != "local":
            raise NotFound(f'error looking up volume plugin {driver}: plugin "{driver}" not found')
        opts = {str(k): str(v) for k, v in (body.get("DriverOpts") or {}).items()}
        labels = {str(k): str(v) for k, v in (body.get("Labels") or {}).items()}
        if not name:
            name, labels = new_id(), {ANONYMOUS_LABEL: "", **labels}
        existed = self._exists(name)
        v = self.driver().create(name, opts, labels)
        if not existed:
            self.bus.emit("volume", "create", name, {"driver": v.driver})
        return self._view(v)

    def _exists(self, name: str) -> bool:
        try:
            self.driver().get(name)
        except NotFound:
            return False
        return True

    def volume_list(self, filters: dict[str, list[str]]) -> Json:
        for key in filters:
            if key not in ("dangling", "driver", "label", "name"):
                raise InvalidArgument(f"invalid filter '{key}'")
        dangling = _truthy(filters.get("dangling", []))
        used = {mp["Name"] for c in self.containers.values() for mp in self.mount_points(c)
                if mp["Type"] == "volume"}  # fmt: skip
        out = []
        for v in self.driver().list():
            if dangling is not None and (v.name not in used) != dangling:
                continue
            if filters.get("driver") and v.driver not in filters["driver"]:
                continue
            if filters.get("name") and not any(n in v.name for n in filters["name"]):
                continue
            if not labels_match(v.labels, filters.get("label", [])):
                continue
            out.append(self._view(v))
        return {"Volumes": out, "Warnings": None}

    def volume_inspect(self, name: str) -> Json:
        return self._view(self.driver().get(name))

    async def volume_remove(self, name: str, force: bool) -> None:
        try:
            self.driver().get(name)
        except NotFound:
            if force:
                return
            raise
        users = self.volume_users(name)
        if users:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
        await asyncio.to_thread(self.driver().remove, name)  # a big volume: off the loop
        self.bus.emit("volume", "destroy", name, {"driver": "local"})

    async def volume_prune(self, filters: dict[str, list[str]], all_volumes: bool) -> Json:
        """Unused volumes; only anonymous ones unless ``all_volumes`` (API >= 1.42)."""
        if _truthy(filters.get("all", [])):
            all_volumes = True
        deleted, reclaimed = [], 0
        for v in self.driver().list():
            if not all_volumes and not v.anonymous:
                continue
            if not labels_match(v.labels, filters.get("label", [])):
                continue
            if not labels_match(v.labels, filters.get("label!", []), True):
                continue
            if self.volume_users(v.name):
                continue
            size = self.driver().size(v.name)
            try:
                await self.volume_remove(v.name, False)
            except CoveError as e:
                log.warning("prune volume %s: %s", v.name, e)
                continue
            deleted.append(v.name)
            reclaimed += size
        self.bus.emit("volume", "prune", "", {"reclaimed": str(reclaimed)})
        return {"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    # --- containers -------------------------------------------------------------------------
    def _points_of(self, ref: str) -> list[MountPoint]:
        try:
            return self.mount_points(self.find(ref))
        except NotFound as e:
            # a bad parameter of this create (400), not a missing image: clients that pull
            # on a 404 from create must not try here
            raise InvalidArgument(e.message) from None

    def volumes_setup(self, cid: str, hc: Json, cfg: Json) -> list[MountPoint]:
        """Plan the mount points of new container ``cid`` (its snapshot prepared) and create
        its volumes; ``volumes_copy_up`` fills them next.  Volumes created here are
        remembered for ``volumes_abort``."""
        # --volume-driver applies to the volumes -v and the image make; it is looked up only
        # when there is such a volume to create (dockerd accepts it otherwise)
        default_driver = str(hc.get("VolumeDriver") or "local")
        points = mounts.plan(hc, cfg.get("Volumes"), self._points_of, os.path.lexists)
        created = self._new_volumes.setdefault(cid, [])
        for mp in points:
            if mp["Type"] != "volume" or mp["Source"]:
                continue  # a bind, a tmpfs, or a volume of --volumes-from
            if not mp.get("DriverGiven"):
                mp["Driver"] = default_driver
            if mp["Driver"] != "local":
                d = mp["Driver"]
                raise NotFound(f'error looking up volume plugin {d}: plugin "{d}" not found')
            name = mp["Name"] or new_id()
            labels = dict(mp.pop("VolumeLabels", None) or {})
            if mp["Anonymous"]:
                labels[ANONYMOUS_LABEL] = ""
            existed = bool(mp["Name"]) and self._exists(name)
            v = self.driver().create(name, dict(mp.pop("VolumeOptions", None) or {}), labels)
            if not existed:
                created.append(name)
                recover.note_new_volume(self.paths.container_dir(cid), name)  # a crash's
                self.bus.emit("volume", "create", name, {"driver": "local"})
            mp.update(Name=name, Source=v.mountpoint, Driver=v.driver)
            mp.pop("DriverGiven", None)
        return points

    def volumes_copy_up(self, cid: str, points: list[MountPoint]) -> None:
        """The image's files into the empty volumes of ``points``: blocking (the root is
        mounted, a process to wait for with fuse-overlayfs, and files are copied), so
        callers run it in a worker thread (when ``copy_up_needed``)."""
        if self.copy_up_needed(points):
            self._copy_up(cid, points)

    @staticmethod
    def copy_up_needed(points: list[MountPoint]) -> bool:
        """Some volume of ``points`` takes the image's files: most creates have none, and
        then skip the worker thread's hop."""
        return any(mp["Type"] == "volume" and mp["CopyData"] for mp in points)

    def volumes_created(self, cid: str) -> None:
        """The create succeeded: its volumes are the container's now."""
        self._new_volumes.pop(cid, None)
        recover.new_volumes_done(self.paths.container_dir(cid))

    def volumes_abort(self, cid: str) -> None:
        for name in self._new_volumes.pop(cid, []):
            with contextlib.suppress(CoveError, OSError):
                self.driver().remove(name)

    def _copy_up(self, cid: str, points: list[MountPoint]) -> None:
        """dockerd's populateVolumes: what the image has at a volume's destination is copied
        into the volume when the volume is empty (owner and mode of the directory too)."""
        target = self.paths.rootfs(cid)
        os.makedirs(target, exist_ok=True)
        mounter.mount_all(self.snapshotter.mounts(cid), target)
        root_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            view = RootView(root_fd, [])  # symlinks in the image resolve inside its root
            for mp in points:
                if mp["Type"] != "volume" or not mp["CopyData"]:
                    continue
                mp["CopyData"] = False
                comps = view.resolve(mp["Destination"])
                if not view.exists(comps):
                    continue
                # every component of ``comps`` is a real directory (no process runs yet to
                # swap one for a symlink), so the joined path stays inside the root
                src = os.path.join(target, *comps)
                if not os.path.isdir(src):
                    if mp["Anonymous"]:
                        raise InvalidArgument(
                            "cannot mount volume over existing file, file exists "
                            + mp["Destination"]
                        )
                    continue
                data = self.driver().mount(mp["Name"], cid)
                try:
                    if not os.listdir(data):
                        _copy_into(src, data)
                finally:
                    self.driver().unmount(mp["Name"], cid)
        finally:
            os.close(root_fd)
            mounter.unmount(target)

    def volume_mount(self, name: str, cid: str) -> str:
        """A volume's directory for container ``cid`` (mounted when its driver needs to);
        the first time per run emits dockerd's ``volume mount`` event."""
        path = self.driver().mount(name, cid)
        c = self.containers.get(cid)
        users = self._mounted_by.setdefault(name, set())
        if c is not None and cid not in users:
            users.add(cid)
            for mp in self.mount_points(c):
                if mp["Type"] == "volume" and mp["Name"] == name:
                    self.bus.emit("volume", "mount", name, {
                        "container": cid, "destination": mp["Destination"], "driver": "local",
                        "propagation": mp.get("Propagation") or "",
                        "read/write": str(bool(mp["RW"])).lower()})  # fmt: skip
        return path

    def volumes_release(self, c: Container) -> None:
        """The container stopped: its volumes may be unmounted."""
        if self.volume_driver is None:
            return
        for mp in self.mount_points(c):
            if mp["Type"] == "volume":
                try:
                    self.volume_driver.unmount(mp["Name"], c.id)
                except CoveError as e:
                    log.warning("releasing volume %s: %s", mp["Name"], e)
                users = self._mounted_by.get(mp["Name"], set())
                if c.id in users:
                    users.discard(c.id)
                    self.bus.emit("volume", "unmount", mp["Name"],
                                  {"container": c.id, "driver": "local"})  # fmt: skip

    def volumes_detach(self, c: Container, remove_anonymous: bool) -> None:
        """The container is gone (already dropped from ``self.containers``)."""
        self.volumes_release(c)
        if not remove_anonymous or self.volume_driver is None:
            return
        for mp in self.mount_points(c):
            if mp["Type"] != "volume" or not mp.get("Anonymous"):
                continue
            if self.volume_users(mp["Name"]):
                continue
            try:
                self.volume_driver.remove(mp["Name"])
                self.bus.emit("volume", "destroy", mp["Name"], {"driver": "local"})
            except NotFound:
                pass
            except (CoveError, OSError) as e:
                log.warning("removing volume %s: %s", mp["Name"], e)


def _copy_into(src: str, data: str) -> None:
    """Copy the tree ``src`` into the empty directory ``data`` keeping owners, modes, times
    and xattrs: copied beside it first, then moved in (a mounted volume is another
    filesystem: moving falls back to copying)."""
    tmp = os.path.join(os.path.dirname(data), f".copyup-{new_id()[:12]}")
    copy_tree(src, tmp)
    try:
        for name in sorted(os.listdir(tmp)):
            shutil.move(os.path.join(tmp, name), os.path.join(data, name))
        st = os.stat(tmp)
        os.chown(data, st.st_uid, st.st_gid)
        os.chmod(data, st.st_mode & 0o7777)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
