"""A coved of the build suite's own (its images do not leak into other suites), and a
helper that writes a context directory and runs ``cove build`` on it."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.daemon_fixture import Daemon, running_daemon


@pytest.fixture(scope="module")
def bd() -> Iterator[Daemon]:
    if os.geteuid() != 0:
        pytest.skip("integration tests need root")
    if not shutil.which("crun") or not shutil.which("conmon"):
        pytest.skip("crun and conmon are needed (make deps)")
    with running_daemon() as d:
        yield d


def write_tree(root: str, files: dict[str, Any]) -> None:
    for rel, content in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(content, tuple):  # ("symlink", target)
            os.symlink(content[1], path)
        elif isinstance(content, bytes):
            with open(path, "wb") as f:
                f.write(content)
        else:
            with open(path, "w") as f:
                f.write(content)


@pytest.fixture
def ctx() -> Iterator[Callable[[dict[str, Any]], str]]:
    dirs: list[str] = []

    def make(files: dict[str, Any]) -> str:
        d = tempfile.mkdtemp(prefix="cove-build-ctx-")
        dirs.append(d)
        write_tree(d, files)
        return d

    yield make
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def build(
    d: Daemon, context: str, *args: str, input: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    return d.cove("build", *args, context, input=input, timeout=180)


def inspect(d: Daemon, ref: str) -> dict[str, Any]:
    r = d.cove("image", "inspect", ref, check=True)
    out: list[dict[str, Any]] = json.loads(r.stdout)
    return out[0]


def run(d: Daemon, *args: str) -> str:
    r = d.cove("run", "--rm", *args, check=True)
    return r.stdout


@contextlib.contextmanager
def loopback_http(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 (a free port) for ``handler``; yields its base URL."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
