"""Registries on loopback for the interop tests: cove's own, Debian's docker-registry, and a
coved whose registry-mirrors point at them.  Everything is started here, in temp dirs, and
stopped (by pid) and removed afterwards."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.daemon_fixture import Daemon, running_daemon, tool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Registry:
    addr: str
    root: str
    proc: subprocess.Popen[bytes]
    log: str

    def url(self, path: str) -> str:
        return f"http://{self.addr}{path}"


def _wait_up(addr: str, proc: subprocess.Popen[bytes], log: str) -> None:
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            with open(log) as f:
                raise RuntimeError(f"registry exited: {f.read()[-2000:]}")
        host, port = addr.rsplit(":", 1)
        with contextlib.suppress(OSError), socket.create_connection((host, int(port)), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"registry on {addr} did not come up")


@contextlib.contextmanager
def cove_registry(*extra: str, addr_host: str = "127.0.0.1") -> Iterator[Registry]:
    base = tempfile.mkdtemp(prefix="cove-reg-test-", dir="/tmp")
    addr = f"{addr_host}:{free_port()}"
    log = os.path.join(base, "registry.log")
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            [tool("cove"), "registry", "serve", "--addr", addr, "--root", base + "/root", *extra],
            stdout=logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_up(addr, proc, log)
        yield Registry(addr, base + "/root", proc, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def distribution_registry() -> Iterator[Registry]:
    exe = shutil.which("docker-registry")
    if exe is None:
        pytest.skip("Debian's docker-registry is not installed (make deps-peers)")
    base = tempfile.mkdtemp(prefix="cove-dreg-test-", dir="/tmp")
    addr = f"127.0.0.1:{free_port()}"
    cfg = os.path.join(base, "config.yml")
    with open(cfg, "w") as f:
        f.write(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {base}/root\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {addr}\n"
        )
    log = os.path.join(base, "registry.log")
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            [exe, "serve", cfg], stdout=logf, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_up(addr, proc, log)
        yield Registry(addr, base + "/root", proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as r:
        return bytes(r.read())


@pytest.fixture(scope="module")
def creg() -> Iterator[Registry]:
    with cove_registry() as r:
        yield r


@pytest.fixture(scope="module")
def dreg() -> Iterator[Registry]:
    with distribution_registry() as r:
        yield r


@pytest.fixture(scope="module")
def mirror_daemon(creg: Registry) -> Iterator[Daemon]:
    """A coved whose first mirror refuses connections and whose second is cove's registry."""
    if os.geteuid() != 0:
        pytest.skip("integration tests need root")
    dead = f"http://127.0.0.1:{free_port()}"
    config = {"registry-mirrors": [dead, f"http://{creg.addr}"], "max-concurrent-downloads": 2}
    with running_daemon(config=config) as d:
        yield d
