"""A container root's mount and unmount run in a worker thread, never on the event loop:
with fuse-overlayfs (a rootless daemon's second storage tier) a mount is a process to start
and wait for.  The engine runs over cove.testing's fakes; ``mount_all``/``unmount`` are
replaced by recorders that also keep ``os.path.ismount`` true for what they mounted, so the
engine takes the same paths as over a real mount."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from cove.snapshot import mount as mounter
from cove.snapshot.base import Mount
from cove.testing.engine import TestEngine, test_engine


class Recorder:
    def __init__(self) -> None:
        self.mounted: set[str] = set()
        self.calls: list[tuple[str, str, bool]] = []  # (what, target, on the loop's thread)

    def mount_all(self, mounts: Sequence[Mount], target: str) -> None:
        self.calls.append(("mount", target, threading.current_thread() is threading.main_thread()))
        self.mounted.add(target)

    def unmount(self, target: str) -> None:
        self.calls.append(
            ("unmount", target, threading.current_thread() is threading.main_thread())
        )
        self.mounted.discard(target)


@pytest.fixture
def rec(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    r = Recorder()
    real_ismount = os.path.ismount
    monkeypatch.setattr(mounter, "mount_all", r.mount_all)
    monkeypatch.setattr(mounter, "unmount", r.unmount)
    monkeypatch.setattr(os.path, "ismount", lambda p: p in r.mounted or real_ismount(p))
    # the engine may ask the mount table instead (bind mounts within one filesystem)
    monkeypatch.setattr(mounter, "is_mountpoint", lambda p: p in r.mounted, raising=False)
    return r


def run(tmp_path: Path, scenario: object) -> None:
    async def main() -> None:
        te = test_engine(str(tmp_path))
        try:
            await scenario(te)  # type: ignore[operator]
        finally:
            te.close()

    asyncio.run(main())  # the loop runs on the main thread


def test_start_exit_rm_mount_and_unmount_off_the_loop(tmp_path: Path, rec: Recorder) -> None:
    async def scenario(te: TestEngine) -> None:
        eng = te.engine
        cid, _ = await eng.container_create("web", {"Image": "busybox", "Cmd": ["sleep", "9"]})
        rootfs = eng.paths.rootfs(cid)
        await eng.container_start(cid)
        assert rec.calls == [("mount", rootfs, False)] and rootfs in rec.mounted
        te.runtime.exit(cid, 0)
        for _ in range(500):  # the exit watcher's turn (bounded)
            if rootfs not in rec.mounted:
                break
            await asyncio.sleep(0.01)
        assert rec.calls[1:] == [("unmount", rootfs, False)]
        await eng.container_start(cid)
        await eng.container_remove(cid, True, False)  # rm -f of a running one
        assert [c for c in rec.calls[2:] if c[0] == "unmount"][-1:] == [("unmount", rootfs, False)]
        assert not rec.mounted

    run(tmp_path, scenario)


def test_cp_from_a_stopped_container_mounts_off_the_loop(tmp_path: Path, rec: Recorder) -> None:
    async def scenario(te: TestEngine) -> None:
        eng = te.engine
        cid, _ = await eng.container_create("web", {"Image": "busybox", "Cmd": ["true"]})
        rootfs = eng.paths.rootfs(cid)
        st = await eng.container_archive_stat(cid, "/")
        assert st["name"] == "/"
        assert rec.calls == [("mount", rootfs, False), ("unmount", rootfs, False)]

    run(tmp_path, scenario)


def test_volume_copy_up_at_create_mounts_off_the_loop(tmp_path: Path, rec: Recorder) -> None:
    async def scenario(te: TestEngine) -> None:
        eng = te.engine
        body = {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Binds": ["vol1:/data"]}}
        cid, _ = await eng.container_create("web", body)
        rootfs = eng.paths.rootfs(cid)
        assert rec.calls == [("mount", rootfs, False), ("unmount", rootfs, False)]

    run(tmp_path, scenario)
