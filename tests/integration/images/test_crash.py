"""``kill -9`` of coved in the middle of a load leaves no half image; the next start
collects what the interrupted load wrote."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.daemon_fixture import Daemon, running_daemon, tool

pytestmark = pytest.mark.slow


def _big_archive(d: Daemon, path: str) -> None:
    import io
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        for i in range(40):
            ti = tarfile.TarInfo(f"data/f{i}")
            ti.size = 1 << 20
            tf.addfile(ti, io.BytesIO(os.urandom(ti.size)))
    r = subprocess.run([tool("cove"), "import", "-", "crash:1"], input=out.getvalue(),
                       env=d.env, capture_output=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    d.cove("save", "-o", path, "crash:1", check=True, timeout=120)
    d.cove("rmi", "crash:1", check=True)


def _state(d: Daemon) -> tuple[set[str], set[str]]:
    blobs = set(os.listdir(os.path.join(d.data_root, "blobs", "sha256")))
    images = set(d.cove("images", "-aq", "--no-trunc", check=True).stdout.split())
    return images, blobs


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.8])
def test_kill_during_load(delay: float, tmp_path: object) -> None:
    with running_daemon() as d:
        path = os.path.join(str(tmp_path), "big.tar")
        _big_archive(d, path)
        images, blobs = _state(d)
        load = subprocess.Popen([tool("cove"), "load", "-i", path], env=d.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        time.sleep(delay)
        assert d.proc is not None
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        load.communicate(timeout=60)
        d.proc = None
        d.start()
        now_images, now_blobs = _state(d)
        if now_images != images:  # the load finished before the kill: all of it is there
            assert "crash:1" in d.cove("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
        else:
            assert now_blobs == blobs  # nothing of the interrupted load is left
        image_dir = os.path.join(d.data_root, "image")
        assert not [n for n in os.listdir(image_dir) if n.startswith("txn-")]
        assert os.listdir(os.path.join(d.data_root, "ingest")) == []
        d.cove("load", "-i", path, check=True, timeout=120)  # and a load still works
        d.cove("rmi", "crash:1", check=True)
        tmp = os.path.join(d.data_root, "tmp")
        assert not [n for n in os.listdir(tmp) if n.startswith("load-")]
