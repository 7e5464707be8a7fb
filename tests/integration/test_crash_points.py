"""``kill -9`` of coved at every step of create, start, stop, exit and rm (the daemon kills
itself at a named point: ``COVE_TEST_CRASH_AT``, see ``cove.util.crashpoint``); after a
restart on the same data root the container can be started, stopped and removed, and once
it is gone nothing of it is left: no mount, no runtime state, no monitor, no layer, no
bundle."""

from __future__ import annotations

import glob
import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from cove.network.names import table_name
from cove.util.crashpoint import POINTS
from tests.daemon_fixture import Daemon, running_daemon
from tests.integration.network.conftest import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def d() -> Iterator[Daemon]:
    if os.geteuid() != 0:
        pytest.skip("integration tests need root")
    with running_daemon() as dd:
        yield dd


def _restart(d: Daemon, crash_at: str = "", signal: str = "") -> None:
    d.stop()
    wanted = {"COVE_TEST_CRASH_AT": crash_at, "COVE_TEST_CRASH_SIGNAL": signal}
    old = {k: os.environ.pop(k, None) for k in wanted}
    os.environ.update({k: v for k, v in wanted.items() if v})
    try:
        d.start()
    finally:
        for k, v in old.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v


def _inspect(d: Daemon, name: str) -> dict[str, object] | None:
    r = d.cove("inspect", "--type", "container", name)
    return json.loads(r.stdout)[0] if r.returncode == 0 else None  # type: ignore[no-any-return]


def _leftovers(d: Daemon, port: int = 0) -> list[str]:
    """Everything a container leaves while it exists; empty once every one is removed
    (``port``: its published port, which no nft rule may name any more)."""
    out: list[str] = []
    if port:
        r = subprocess.run(["nft", "list", "table", "ip", table_name(d.exec_root)],
                           capture_output=True, text=True)  # fmt: skip
        out += [f"nft: {ln.strip()}" for ln in r.stdout.splitlines() if f" {port} " in ln + " "]
    with open("/proc/self/mountinfo") as f:
        out += [ln.split()[4] for ln in f if d.base in ln.split()[4]]
    out += glob.glob(os.path.join(d.data_root, "containers", "*"))
    out += glob.glob(os.path.join(d.data_root, "*", "containers", "*"))
    out += glob.glob(os.path.join(d.exec_root, "containers", "*"))
    out += [f"volume {v}" for v in d.cove("volume", "ls", "-q").stdout.split()]
    r = subprocess.run(["crun", f"--root={d.exec_root}/runtime", "list", "-q"],
                       capture_output=True, text=True)  # fmt: skip
    out += [f"crun:{x}" for x in r.stdout.split()]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if d.exec_root.encode() in cmd and b"coved" not in cmd:
            out.append(f"process {pid}: {cmd[:80]!r}")
    return out


def _setup_and_trigger(d: Daemon, point: str, name: str, port: int) -> None:
    create = ["--name", name, "-p", f"127.0.0.1:{port}:80", "-v", "/data", "busybox",
              "sleep", "300"]  # fmt: skip
    op = point.split(":")[0]
    if op == "create":
        d.cove("create", *create)
    elif op == "start":
        d.cove("create", *create, check=True)
        d.cove("start", name)
    elif op == "stop":
        d.cove("run", "-d", *create, check=True)
        d.cove("stop", "-t", "1", name)
    elif op == "exit":
        d.cove("run", "-d", "--name", name, "busybox", "true")
    elif op == "rm":
        d.cove("run", "-d", *create, check=True)
        d.cove("rm", "-f", "-v", name)


@pytest.mark.parametrize("point", POINTS)
def test_kill_at(d: Daemon, point: str) -> None:
    assert _leftovers(d) == []
    name, port = f"crash{os.urandom(3).hex()}", free_port()
    _restart(d, point)
    try:
        _setup_and_trigger(d, point, name, port)
        assert d.proc is not None
        assert d.proc.wait(30) == -9, f"coved did not stop at {point}:\n{d.log_tail()}"
        d.proc = None
    finally:
        _restart(d)
    info = _inspect(d, name)
    if point.startswith("rm:") or point in ("create:dir", "create:snapshot", "create:volumes"):
        # a removal is finished; a create cut before its record leaves nothing
        assert info is None, info
        assert _leftovers(d) == []
        d.cove("create", "--name", name, "busybox", "true", check=True)  # the name is free
        d.cove("rm", name, check=True)
    else:
        assert info is not None
        state = info["State"]
        assert isinstance(state, dict)
        if not state["Running"]:
            r = d.cove("start", name)
            assert r.returncode == 0, r.stderr + d.log_tail()
        if point.startswith("exit:"):  # its command is `true`: it ran again and exited 0
            assert d.cove("wait", name, check=True).stdout.strip() == "0"
        else:
            info = _inspect(d, name)
            assert info is not None and info["State"]["Running"]  # type: ignore[index]
        d.cove("stop", "-t", "1", name, check=True)
        d.cove("rm", "-v", name, check=True)
    assert _leftovers(d, port) == []


SIGTERM_POINTS = ["start:mounted", "start:launching", "start:monitor", "start:created",
                  "start:attached"]  # fmt: skip


@pytest.mark.parametrize("point", SIGTERM_POINTS)
def test_sigterm_at(d: Daemon, point: str) -> None:
    """SIGTERM at a step of a start: the shutdown cancels the start there, and coved still
    exits (cancelled while it launched conmon, it once hung, or killed the launcher before
    conmon's pid file was written: conmon then created the container's init alone, which a
    restart and ``rm -f`` left running).  After the restart the container starts, and once
    it is removed nothing is left."""
    assert _leftovers(d) == []
    name = f"term{os.urandom(3).hex()}"
    _restart(d, point, "TERM")
    try:
        d.cove("create", "--name", name, "busybox", "sleep", "300", check=True)
        d.cove("start", name)
        assert d.proc is not None
        try:
            d.proc.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"coved did not stop on SIGTERM at {point}:\n{d.log_tail()}")
        d.proc = None
    finally:
        _restart(d)
    info = _inspect(d, name)
    assert info is not None
    if not info["State"]["Running"]:  # type: ignore[index]
        r = d.cove("start", name)
        assert r.returncode == 0, r.stderr + d.log_tail()
    d.cove("rm", "-f", name, check=True)
    assert _leftovers(d) == []
