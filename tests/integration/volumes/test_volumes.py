"""Volumes and mounts with real containers, through the cove CLI and the docker CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.integration


@pytest.fixture
def hostdir() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="cove-vol-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _ok(daemon: Daemon, *args: str) -> str:
    r = daemon.cove(*args)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def _volumes(daemon: Daemon) -> set[str]:
    return set(_ok(daemon, "volume", "ls", "-q").split())


def test_data_volume_container_pattern(daemon: Daemon) -> None:
    """The issue's example: a never-started container holds the volume."""
    before = _volumes(daemon)
    _ok(daemon, "create", "-v", "/data", "--name", "store", "busybox", "true")
    try:
        (vol,) = _volumes(daemon) - before
        _ok(daemon, "run", "--rm", "--volumes-from", "store", "busybox", "sh", "-c",
            "echo kept > /data/f")  # fmt: skip
        out = _ok(daemon, "run", "--rm", "--volumes-from", "store", "busybox", "ls", "/data")
        assert out == "f\n"
        r = daemon.cove("run", "--rm", "--volumes-from", "store:ro", "busybox", "sh", "-c",
                        "cat /data/f && touch /data/g")  # fmt: skip
        assert r.returncode == 1 and "kept" in r.stdout
        assert "Read-only file system" in r.stderr
        mounts = json.loads(_ok(daemon, "inspect", "-f", "{{json .Mounts}}", "store"))
        assert mounts[0]["Name"] == vol and mounts[0]["Destination"] == "/data"
        assert mounts[0]["Type"] == "volume" and mounts[0]["RW"] is True
        r = daemon.cove("volume", "rm", vol)
        assert r.returncode == 1 and "volume is in use" in r.stderr
    finally:
        _ok(daemon, "rm", "-v", "store")
    assert vol not in _volumes(daemon)  # rm -v took the anonymous volume


def test_binds_ro_and_missing_source(daemon: Daemon, hostdir: str) -> None:
    missing = os.path.join(hostdir, "made", "by", "run")
    with open(os.path.join(hostdir, "app.conf"), "w") as f:
        f.write("conf\n")
    out = _ok(daemon, "run", "--rm", "-v", f"{missing}:/m", "-v",
              f"{hostdir}/app.conf:/etc/app.conf:ro", "busybox", "sh", "-c",
              "touch /m/x && cat /etc/app.conf")  # fmt: skip
    assert out == "conf\n"
    assert os.path.exists(os.path.join(missing, "x"))  # the source was created, as Docker does
    r = daemon.cove("run", "--rm", "-v", f"{hostdir}:/h:ro", "busybox", "touch", "/h/no")
    assert r.returncode == 1 and "Read-only file system" in r.stderr  # EROFS
    assert not os.path.exists(os.path.join(hostdir, "no"))


def test_named_volume_copy_up_and_lifecycle(daemon: Daemon) -> None:
    assert _ok(daemon, "volume", "create", "--label", "team=a", "etcvol").strip() == "etcvol"
    try:
        # a new named volume over /etc gets the image's files (copy-up)
        out = _ok(daemon, "run", "--rm", "-v", "etcvol:/etc", "busybox", "cat", "/etc/passwd")
        assert out.startswith("root:")
        info = json.loads(_ok(daemon, "volume", "inspect", "etcvol"))[0]
        assert info["Labels"] == {"team": "a"} and info["Driver"] == "local"
        assert os.path.exists(os.path.join(info["Mountpoint"], "passwd"))
        assert _ok(daemon, "volume", "ls", "-q", "-f", "label=team=a").split() == ["etcvol"]
        r = daemon.cove("volume", "create", "-o", "nope=1", "badvol")
        assert r.returncode == 1 and 'invalid option: "nope"' in r.stderr
    finally:
        _ok(daemon, "volume", "rm", "etcvol")
    r = daemon.cove("volume", "inspect", "etcvol")
    assert r.returncode == 1 and "no such volume" in r.stderr


def test_local_driver_tmpfs_volume(daemon: Daemon) -> None:
    _ok(daemon, "volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o",
        "o=size=2m,uid=1000", "tmpvol")  # fmt: skip
    try:
        out = _ok(daemon, "run", "--rm", "-v", "tmpvol:/t", "busybox", "sh", "-c",
                  "stat -c %u /t; grep ' /t ' /proc/mounts")  # fmt: skip
        uid, line = out.splitlines()
        assert uid == "1000" and line.startswith("tmpfs /t tmpfs") and "size=2048k" in line
        mp = json.loads(_ok(daemon, "volume", "inspect", "tmpvol"))[0]["Mountpoint"]
        assert not os.path.ismount(mp)  # unmounted after its last container
    finally:
        _ok(daemon, "volume", "rm", "tmpvol")


def test_mount_and_tmpfs_flags(daemon: Daemon, hostdir: str) -> None:
    out = _ok(daemon, "run", "--rm",
              "--mount", f"type=bind,source={hostdir},target=/b,readonly",
              "--mount", "type=tmpfs,target=/t,tmpfs-size=1m",
              "--mount", "type=volume,target=/anon",
              "--tmpfs", "/run:size=2m",
              "busybox", "sh", "-c", "grep -E ' /(b|t|run|anon) ' /proc/mounts")  # fmt: skip
    lines = {ln.split()[1]: ln for ln in out.splitlines()}
    assert " ro," in lines["/b"] and "size=1024k" in lines["/t"] and "size=2048k" in lines["/run"]
    assert "/anon" in lines
    r = daemon.cove("run", "--rm", "--mount", "type=bind,source=/no/such/dir,target=/x",
                    "busybox", "true")  # fmt: skip
    assert r.returncode == 125
    assert "bind source path does not exist: /no/such/dir" in r.stderr
    for bad, words in (
        (["-v", "/a:rel"], "mount path must be absolute"),
        (["-v", "/a:/x", "-v", "/b:/x"], "Duplicate mount point: /x"),
        (["-v", "/a:/x:bogus"], "invalid mode: bogus"),
        (["--volumes-from", "no-such-ctr"], "No such container: no-such-ctr"),
    ):
        before = _ok(daemon, "ps", "-aq")
        r = daemon.cove("create", *bad, "busybox", "true")
        assert r.returncode != 0 and words in r.stderr, (bad, r.stderr)
        assert _ok(daemon, "ps", "-aq") == before  # nothing created


def test_image_volume_and_prune(daemon: Daemon) -> None:
    before = _volumes(daemon)
    cid = _ok(daemon, "create", "--mount", "type=volume,target=/keep", "busybox", "true").strip()
    (anon,) = _volumes(daemon) - before
    _ok(daemon, "rm", cid)  # without -v the anonymous volume stays
    assert anon in _volumes(daemon)
    _ok(daemon, "volume", "create", "namedkeep")
    out = _ok(daemon, "volume", "prune", "-f")
    assert anon in out and "namedkeep" not in out  # prune takes anonymous ones only
    out = _ok(daemon, "volume", "prune", "-af")
    assert "namedkeep" in out


def test_docker_cli_volumes(daemon: Daemon, hostdir: str) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker CLI not installed")

    def dk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([docker, *args], capture_output=True, text=True, env=daemon.env,
                              timeout=60)  # fmt: skip

    assert dk("volume", "create", "dkvol").returncode == 0
    try:
        r = dk("run", "--rm", "-v", "dkvol:/v", "-v", f"{hostdir}:/h", "busybox", "sh", "-c",
               "echo hi > /v/a && cp /v/a /h/a")  # fmt: skip
        assert r.returncode == 0, r.stderr
        with open(os.path.join(hostdir, "a")) as f:
            assert f.read() == "hi\n"
        r = dk("volume", "ls", "--format", "{{.Name}} {{.Driver}}")
        assert "dkvol local" in r.stdout.splitlines()
        r = dk("volume", "inspect", "-f", "{{.Mountpoint}}", "dkvol")
        assert r.stdout.strip().endswith("/volumes/dkvol/_data")
    finally:
        dk("volume", "rm", "dkvol")


def test_ps_filter_volume(daemon: Daemon) -> None:
    r = daemon.cove(
        "run", "-d", "--name", "withvol", "-v", "psvol:/data", "busybox", "sleep", "100"
    )
    assert r.returncode == 0, r.stderr
    try:
        out = daemon.cove("ps", "--filter", "volume=psvol", "--format", "{{.Names}}").stdout
        assert out.split() == ["withvol"]
        out = daemon.cove("ps", "--filter", "volume=/data", "--format", "{{.Names}}").stdout
        assert out.split() == ["withvol"]
        assert daemon.cove("ps", "-q", "--filter", "volume=other").stdout == ""
    finally:
        daemon.cove("rm", "-f", "withvol")
        daemon.cove("volume", "rm", "psvol")
