"""A container's root filesystem mount lives exactly as long as its process, with each
storage driver: one mount while it runs, none once it has stopped, none after ``rm -f``, also
when coved is stopped (SIGTERM) or killed (SIGKILL) right after the removal or in the middle
of it.  The native driver's root is a bind mount within one file system, which
``os.path.ismount`` cannot see: it used to stay mounted after stop and rm, a second start
stacked another one on it, and the next ``rm`` failed with "device or resource busy".

Bounded: a few ``sleep 300`` containers, every CLI call under the fixture's timeout; the
daemon fixture kills monitors and detaches every mount under its directory even when a test
fails."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import Daemon, running_daemon, tool
from tests.integration.test_crash_points import _leftovers, _restart

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["native", "overlay2"])
def d(request: pytest.FixtureRequest) -> Iterator[Daemon]:
    if os.geteuid() != 0:
        pytest.skip("integration tests need root")
    with running_daemon(args=["--storage-driver", str(request.param)]) as dd:
        yield dd


def _mounts_of(d: Daemon, cid: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [p for p in (ln.split()[4] for ln in f) if d.base in p and cid in p]


def _run(d: Daemon) -> str:
    cid = d.cove("run", "-d", "busybox", "sleep", "300", check=True).stdout.strip()
    assert len(_mounts_of(d, cid)) == 1
    return cid


def test_stop_start_rm(d: Daemon) -> None:
    cid = _run(d)
    d.cove("stop", "-t", "0", cid, check=True)
    assert _mounts_of(d, cid) == []
    d.cove("start", cid, check=True)
    assert len(_mounts_of(d, cid)) == 1  # mounted once, not stacked
    d.cove("rm", "-f", cid, check=True)
    assert _leftovers(d) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_rm_then_daemon_stops(d: Daemon, sig: int) -> None:
    cid = _run(d)
    d.cove("rm", "-f", cid, check=True)
    d.stop(sig)
    assert _mounts_of(d, cid) == []
    d.start()
    assert _leftovers(d) == []


def test_sigterm_during_rm(d: Daemon) -> None:
    """SIGTERM while a ``rm -f`` is in flight: coved exits (its shutdown, cancelling the
    request while it started ``crun kill``, hung for good on Python 3.11's subprocess
    transport), and after a restart the container is either gone or still listed; nothing is
    left once it is removed.  A few rounds: the request lands at a different step each time."""
    for _ in range(3):
        cid = _run(d)
        assert d.proc is not None
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        try:
            s.connect(d.socket)
            s.sendall(f"DELETE /v1.44/containers/{cid}?force=1 HTTP/1.1\r\nHost: cove\r\n"
                      "Connection: close\r\n\r\n".encode())  # fmt: skip
            d.proc.send_signal(signal.SIGTERM)
            try:
                d.proc.wait(30)
            except subprocess.TimeoutExpired:
                d.proc.kill()
                d.proc.wait()
                pytest.fail("coved did not stop on SIGTERM during rm -f")
            finally:
                d.proc = None
                d.start()  # the module's daemon, for the next test and the teardown
        finally:
            s.close()
        if cid in d.cove("ps", "-aq", "--no-trunc", check=True).stdout.split():
            d.cove("rm", "-f", cid, check=True)
        assert _leftovers(d) == []


@pytest.mark.parametrize("point", ["rm:marked", "rm:runtime", "exit:released"])
def test_killed_mid_way(d: Daemon, point: str) -> None:
    """coved dies (SIGKILL) during a removal, or while it records an exit; its next start
    finishes the removal or the exit, and leaves the root unmounted either way."""
    _restart(d, point)
    try:
        if point.startswith("rm:"):
            cid = _run(d)
            d.cove("rm", "-f", cid)
        else:
            cid = d.cove("run", "-d", "busybox", "true", check=True).stdout.strip()
        assert d.proc is not None
        assert d.proc.wait(30) == -9, f"coved did not stop at {point}:\n{d.log_tail()}"
        d.proc = None
    finally:
        _restart(d)
    assert _mounts_of(d, cid) == []
    if point == "exit:released":
        assert d.cove("wait", cid, check=True).stdout.strip() == "0"
        d.cove("start", cid, check=True)  # runs `true` again: mounted while it runs only
        d.cove("wait", cid, check=True)
        assert _mounts_of(d, cid) == []
        d.cove("rm", cid, check=True)
    assert _leftovers(d) == []


def test_stale_export_mount(d: Daemon) -> None:
    """An export cut off by a killed coved leaves the container's root mounted in a spool
    directory; the next load removes that directory: unmounted first, never deleted through
    the mount (the container keeps its files)."""
    cid = _run(d)
    d.cove("exec", cid, "sh", "-c", "echo kept > /kept", check=True)
    spool = os.path.join(d.data_root, "tmp", "export-stale")
    os.makedirs(spool)
    os.utime(spool, (0, 0))  # older than this daemon: left by an earlier one
    rootfs = os.path.join(d.data_root, "containers", cid, "rootfs")
    subprocess.run(["mount", "--rbind", rootfs, spool], check=True)
    os.utime(spool, (0, 0))
    tar = subprocess.run([tool("cove"), "save", "busybox"], capture_output=True, env=d.env,
                         timeout=60, check=True).stdout  # fmt: skip
    subprocess.run([tool("cove"), "load"], input=tar, capture_output=True, env=d.env,
                   timeout=60, check=True)  # fmt: skip
    assert not os.path.exists(spool)
    assert d.cove("exec", cid, "cat", "/kept", check=True).stdout == "kept\n"
    d.cove("rm", "-f", cid, check=True)
    assert _leftovers(d) == []
