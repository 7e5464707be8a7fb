"""The storage tiers chosen by a rootless daemon on its own (issue 18; nothing forces
``storage-driver``): kernel overlayfs, then fuse-overlayfs, then the native copy driver.

This kernel lets a user namespace mount overlayfs, so the fallback needs a real reason for
the kernel to refuse: the user's ``~/.local/share`` (and so the default data root
``~/.local/share/cove``) is put on an overlayfs mount made by root.  The kernel refuses an
overlay whose upper directory is on overlayfs ("filesystem on ... not supported as
upperdir"), and overlayfs refuses the whiteouts a user namespace makes (what the daemon's
probe meets first), while fuse-overlayfs works there.  With /dev/fuse usable by users the
daemon must pick fuse-overlayfs; with /dev/fuse closed to them (this Debian host's 0600; a
host with 0666 gets 0600 for that test and its mode back after), the native driver.  The
mount, the user and everything they made are removed afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from tests.integration.rootless.conftest import (
    User,
    _kill_all,
    _make_user,
    _remove_user,
    fuse_mounts,
    fuse_servers,
    fuse_settled,
    import_busybox,
    usable_by_users,
)

pytestmark = pytest.mark.integration
WRITE = "echo hi > /f && mkdir -p /d && touch /d/x && chown 1234:55 /d/x && rm /bin/ls"


@contextlib.contextmanager
def overlay_share(u: User) -> Iterator[str]:
    """``~/.local/share`` of ``u`` on an overlayfs mount (its layers in a private directory
    under /tmp, the upper one the user's); unmounted and removed afterwards."""
    base = tempfile.mkdtemp(prefix="cove-fallback-")
    lower, upper, work = (os.path.join(base, d) for d in ("lower", "upper", "work"))
    for d in (lower, upper, work):
        os.mkdir(d, 0o700)
    os.chown(upper, u.uid, u.gid)
    target = os.path.join(u.home, ".local", "share")
    try:
        assert u.run("mkdir", "-p", target).returncode == 0
        opts = f"lowerdir={lower},upperdir={upper},workdir={work}"
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, target], check=True)
        try:
            yield target
        finally:
            if subprocess.run(["umount", target], check=False).returncode != 0:
                subprocess.run(["umount", "-l", target], check=False)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def closed_to_users(dev: str) -> Iterator[None]:
    """``dev`` neither readable nor writable by others for the block, its mode back after."""
    mode = os.stat(dev).st_mode & 0o7777
    if mode & 0o006:
        os.chmod(dev, mode & ~0o006)
    try:
        yield
    finally:
        os.chmod(dev, mode)


@pytest.fixture(scope="module")
def vic(tun_for_users: None) -> Iterator[User]:
    for tool in ("fuse-overlayfs", "slirp4netns", "newuidmap", "crun", "conmon"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} (make deps)")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse")
    u = _make_user("covertv")
    try:
        with overlay_share(u):
            try:
                yield u
            finally:
                u.stop()
                _kill_all([u])  # the namespace holder too: nothing keeps the mount busy
    finally:
        _kill_all([u])
        _remove_user(u)


def _start(u: User, config: dict[str, object]) -> None:
    conf = os.path.join(u.home, ".config", "cove")
    u.run("mkdir", "-p", conf)
    u.run("sh", "-c", f"cat > {conf}/daemon.json", input=json.dumps(config).encode())
    u.start()
    import_busybox(u)


def _driver(u: User) -> str:
    return str(json.loads(u.ok("info", "--format", "{{json .}}"))["Driver"])


def _passed_over(u: User, driver: str) -> str:
    """The daemon's logged reason for passing over ``driver`` (its last start's)."""
    lines = [ln for ln in u.log().splitlines() if f"storage driver {driver} cannot" in ln]
    assert lines, u.log()
    return lines[-1]


def test_data_root_on_overlayfs_falls_back_to_fuse_overlayfs(vic: User) -> None:
    with usable_by_users("/dev/fuse", "fuse-overlayfs needs the FUSE device"):
        _start(vic, {})
        try:
            assert _driver(vic) == "fuse-overlayfs"
            # the daemon's probe: overlayfs refuses a whiteout (mknod 0:0) from a user
            # namespace, as the kernel refuses the mount itself (an overlay upperdir)
            why = _passed_over(vic, "overlay2")
            assert f"the overlay filesystem of {vic.home}/.local/share/cove" in why, why
            out = vic.ok("run", "--rm", "busybox", "sh", "-c",
                         f"{WRITE} && cat /f && grep ' / ' /proc/mounts")  # fmt: skip
            assert out.split("\n")[0] == "hi" and "fuse.fuse-overlayfs" in out, out
            assert fuse_settled(vic) == ([], [])  # --rm: unmounted, its server gone
            vic.ok("run", "-d", "--name", "fb", "busybox", "sleep", "300")
            try:
                assert len(fuse_servers(vic)) == 1 and len(fuse_mounts(vic)) == 1
                vic.ok("exec", "fb", "sh", "-c", WRITE)
                assert vic.ok("exec", "fb", "stat", "-c", "%u:%g", "/d/x").strip() == "1234:55"
                diff = vic.ok("diff", "fb").split("\n")
                assert "A /f" in diff and "D /bin/ls" in diff, diff
                upper = json.loads(vic.ok("inspect", "fb"))[0]["GraphDriver"]["Data"]["UpperDir"]
                assert upper.startswith(f"{vic.home}/.local/share/cove/fuse-overlayfs/")
                with open(os.path.join(upper, "f")) as f:  # on the host, in the overlay mount
                    assert f.read() == "hi\n"
                assert os.stat(os.path.join(upper, "d", "x")).st_uid == vic.sub_start + 1233
            finally:
                vic.ok("rm", "-f", "fb")
            assert fuse_settled(vic) == ([], [])
        finally:
            vic.stop()
        assert fuse_settled(vic) == ([], [])


def test_no_usable_fuse_device_falls_back_to_native(vic: User) -> None:
    native_root = os.path.join(vic.home, ".local", "share", "cove-native")
    with closed_to_users("/dev/fuse"):
        _start(vic, {"data-root": native_root})
        try:
            assert _driver(vic) == "native"
            assert f"the overlay filesystem of {native_root}" in _passed_over(vic, "overlay2")
            assert "/dev/fuse cannot be opened" in _passed_over(vic, "fuse-overlayfs")
            assert os.path.isdir(os.path.join(native_root, "native"))
            out = vic.ok(
                "run", "--rm", "busybox", "sh", "-c", f"{WRITE} && test ! -e /bin/ls && cat /f"
            )
            assert out == "hi\n"
            vic.ok("run", "--name", "nb", "busybox", "sh", "-c", WRITE)
            diff = vic.ok("diff", "nb").split("\n")
            assert "A /f" in diff and "D /bin/ls" in diff, diff
            vic.ok("rm", "nb")
            assert vic.ok("ps", "-aq") == ""
        finally:
            vic.stop()
        assert fuse_settled(vic) == ([], [])
