"""docker cp: both directions, stdin/stdout tars, stopped containers, and no escapes."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.integration


@pytest.fixture
def work() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="cove-cp-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _ok(daemon: Daemon, *args: str, input: bytes | None = None) -> str:
    r = daemon.cove(*args, input=input)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


@pytest.fixture
def box(daemon: Daemon) -> Iterator[str]:
    """A stopped container with a volume and planted symlinks (a hostile image's tricks)."""
    name = "cpbox"
    _ok(daemon, "run", "--name", name, "-v", "/vol", "busybox", "sh", "-c",
        "mkdir -p /dir/sub && echo one > /dir/one && echo two > /dir/sub/two && "
        "echo v > /vol/v && ln -s / /rootlink && ln -s /tmp/cove-cp-secret /abs && "
        "ln -s ../../../../../../ /up")  # fmt: skip
    yield name
    daemon.cove("rm", "-v", name)


def test_copy_out_and_in_stopped(daemon: Daemon, box: str, work: str) -> None:
    _ok(daemon, "cp", f"{box}:/dir", work)
    with open(os.path.join(work, "dir", "sub", "two")) as f:
        assert f.read() == "two\n"
    _ok(daemon, "cp", f"{box}:/dir/.", os.path.join(work, "contents"))
    assert sorted(os.listdir(os.path.join(work, "contents"))) == ["one", "sub"]
    _ok(daemon, "cp", f"{box}:/dir/one", os.path.join(work, "renamed"))
    with open(os.path.join(work, "renamed")) as f:
        assert f.read() == "one\n"
    _ok(daemon, "cp", f"{box}:/vol/v", work)  # from the volume, container stopped
    with open(os.path.join(work, "hostfile"), "w") as f:
        f.write("from host\n")
    _ok(daemon, "cp", os.path.join(work, "hostfile"), f"{box}:/vol/")
    _ok(daemon, "cp", os.path.join(work, "hostfile"), f"{box}:/dir/newname")
    out = _ok(daemon, "run", "--rm", "--volumes-from", box, "busybox", "cat", "/vol/hostfile")
    assert out == "from host\n"
    raw = subprocess.run([os.path.join(os.path.dirname(sys.executable), "cove"), "cp",
                          f"{box}:/dir/newname", "-"], capture_output=True, env=daemon.env,
                         check=True).stdout  # fmt: skip
    (m,) = tarfile.open(fileobj=io.BytesIO(raw)).getmembers()  # noqa: SIM115
    assert m.name == "newname" and m.size == len("from host\n")


def test_tar_on_stdin_and_errors(daemon: Daemon, box: str, work: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        t = tarfile.TarInfo("piped.txt")
        t.size = 3
        tf.addfile(t, io.BytesIO(b"abc"))
    _ok(daemon, "cp", "-", f"{box}:/dir", input=buf.getvalue())
    _ok(daemon, "cp", f"{box}:/dir/piped.txt", work)
    with open(os.path.join(work, "piped.txt")) as f:
        assert f.read() == "abc"
    r = daemon.cove("cp", f"{box}:/nosuch", work)
    assert r.returncode == 1 and f"Could not find the file /nosuch in container {box}" in r.stderr
    r = daemon.cove("cp", "nosuchctr:/x", work)
    assert r.returncode == 1 and "No such container: nosuchctr" in r.stderr
    r = daemon.cove("cp", work, work)
    assert r.returncode == 1 and "must specify at least one container source" in r.stderr


def test_no_escape_through_symlinks(daemon: Daemon, box: str, work: str) -> None:
    secret = "/tmp/cove-cp-secret"
    with open(secret, "w") as f:
        f.write("HOST SECRET\n")
    try:
        for src in ("/abs", "/rootlink/tmp/cove-cp-secret", "/up/tmp/cove-cp-secret"):
            r = daemon.cove("cp", "-L", f"{box}:{src}", os.path.join(work, "leak"))
            assert r.returncode == 1, src
            assert not os.path.exists(os.path.join(work, "leak"))
        # writing through the planted links lands inside the container
        with open(os.path.join(work, "planted"), "w") as f:
            f.write("x")
        _ok(daemon, "cp", os.path.join(work, "planted"), f"{box}:/rootlink/tmp/")
        assert not os.path.exists("/tmp/planted")
        _ok(daemon, "cp", os.path.join(work, "planted"), f"{box}:/up/")
        assert not os.path.exists("/planted")
        out = _ok(daemon, "cp", f"{box}:/rootlink/etc/passwd", "-")
        assert "root:x:0:0:root:/root:/bin/sh" in out  # the container's passwd, not the host's
        with open(secret) as f:
            assert f.read() == "HOST SECRET\n"
    finally:
        os.unlink(secret)


def test_running_container_and_sdk(daemon: Daemon, work: str) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.host)
    c = client.containers.run(
        "busybox",
        "sleep 60",
        detach=True,
        volumes=["/live", f"{work}:/ro:ro"],
        tmpfs={"/scratch": "size=1m"},
    )
    try:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            t = tarfile.TarInfo("d/f.txt")
            t.size = 4
            tf.addfile(t, io.BytesIO(b"data"))
        assert c.put_archive("/live", buf.getvalue())
        assert c.exec_run("cat /live/d/f.txt").output == b"data"
        bits, stat = c.get_archive("/live/d")
        assert stat["name"] == "d" and stat["mode"] & (1 << 31)
        names = tarfile.open(fileobj=io.BytesIO(b"".join(bits))).getnames()  # noqa: SIM115
        assert names == ["d", "d/f.txt"]
        with pytest.raises(docker.errors.NotFound):
            c.get_archive("/nope")
        # a tmpfs lives in the container's mount namespace only: cp reaches it there
        assert c.put_archive("/scratch", buf.getvalue())
        assert c.exec_run("cat /scratch/d/f.txt").output == b"data"
        with pytest.raises(docker.errors.APIError) as e:
            c.put_archive("/ro", buf.getvalue())
        assert e.value.status_code == 403
        assert "mounted volume is marked read-only" in str(e.value)
        assert os.listdir(work) == []
    finally:
        c.remove(force=True, v=True)
        client.close()
