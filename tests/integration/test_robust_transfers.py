"""Transfers that go wrong end their own request only (issue 14, item 3).

A load whose tar is corrupt in the middle or cut short answers with an error and coved keeps
serving (it once wedged for good: a blocking put into a full queue on the event loop after
the worker died); a client that leaves in the middle of a save or an export leaves no
transfer thread behind.  Everything goes through coved's API on its unix socket.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import tarfile
import threading
import time
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import Daemon

BIG = 24 << 20  # the big image's one file: more than the bridge and socket buffers hold


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 120) -> None:
        super().__init__("cove", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def _call(d: Daemon, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    conn = UnixHTTP(d.socket)
    try:
        headers = {"Content-Type": "application/x-tar"} if body is not None else {}
        conn.request(method, "/v1.44" + path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def _save(d: Daemon, name: str) -> bytes:
    status, data = _call(d, "GET", f"/images/{name}/get")
    assert status == 200, data[:300]
    return data


def _load(d: Daemon, data: bytes) -> tuple[int, list[dict[str, object]]]:
    status, body = _call(d, "POST", "/images/load?quiet=1", data)
    lines = [json.loads(x) for x in body.splitlines() if x.strip().startswith(b"{")]
    return status, lines


def _failed(status: int, lines: list[dict[str, object]]) -> bool:
    return status >= 400 or any("error" in m or "errorDetail" in m for m in lines)


def _xfer_threads(d: Daemon) -> int:
    """coved's bridge threads (they name themselves cove-xfer in /proc)."""
    assert d.proc is not None
    n = 0
    task_dir = f"/proc/{d.proc.pid}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/comm") as f:
                n += f.read().strip() == "cove-xfer"
        except OSError:
            continue
    return n


def _wait_no_xfer(d: Daemon, limit: float = 60) -> int:
    deadline = time.monotonic() + limit
    while (n := _xfer_threads(d)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return n


@pytest.fixture(scope="module")
def big_image(daemon: Daemon) -> Iterator[str]:
    """An image with one incompressible file of BIG bytes (imported through the API)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("blob")
        info.size = BIG
        t.addfile(info, io.BytesIO(os.urandom(BIG)))
    status, body = _call(
        daemon, "POST", "/images/create?fromSrc=-&repo=robust-big&tag=1", buf.getvalue()
    )
    assert status == 200, body
    yield "robust-big:1"
    _call(daemon, "DELETE", "/images/robust-big:1?force=1")


def test_corrupt_and_truncated_loads_fail_alone(daemon: Daemon, big_image: str) -> None:
    good = _save(daemon, big_image)
    assert len(good) > BIG
    # the layers must be missing for the load to read them
    assert _call(daemon, "DELETE", f"/images/{big_image}?force=1")[0] == 200
    middle = len(good) // 2
    corrupt = good[:middle] + b"\xff" * 65536 + good[middle + 65536 :]
    truncated = good[:middle]
    for bad in (corrupt, truncated):
        status, lines = _load(daemon, bad)
        assert _failed(status, lines), lines
        assert status < 500 or status == 200, status  # errors in the stream, not a crash
        assert daemon.ping()
    status, lines = _load(daemon, good)
    assert status == 200 and not _failed(status, lines), lines
    assert any("Loaded image" in str(m.get("stream")) for m in lines), lines
    assert _wait_no_xfer(daemon) == 0


def test_load_whose_worker_dies_while_the_body_still_arrives(daemon: Daemon) -> None:
    """The worker fails on a broken header early; the client keeps sending 32 MiB.  The
    request ends with an error (or the connection closes) and coved answers /_ping."""
    good = _save(daemon, "busybox:latest")
    head = good[:1024] + b"\x00" * 100 + b"\xff" * 8192  # a broken second header
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(daemon.socket)
    total = len(head) + (32 << 20)
    s.sendall(
        b"POST /v1.44/images/load HTTP/1.1\r\nHost: cove\r\nContent-Type: application/x-tar\r\n"
        + f"Content-Length: {total}\r\n\r\n".encode()
        + head
    )

    def keep_sending() -> None:
        chunk = b"\xee" * 65536
        try:
            for _ in range(512):
                s.sendall(chunk)
        except OSError:
            pass  # coved stopped reading and closed: what it may do

    sender = threading.Thread(target=keep_sending, daemon=True)
    sender.start()
    reply = b""
    try:
        while chunk := s.recv(65536):
            reply += chunk
            if b"error" in reply:
                break
    except OSError:
        pass
    finally:
        s.close()
    sender.join(60)
    assert not reply or b"error" in reply or b" 4" in reply.split(b"\r\n", 1)[0], reply[:300]
    assert daemon.ping()
    assert _wait_no_xfer(daemon) == 0


def _leave_early(d: Daemon, path: str) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(d.socket)
    s.sendall(f"GET /v1.44{path} HTTP/1.1\r\nHost: cove\r\n\r\n".encode())
    got = b""
    while len(got) < 65536:
        data = s.recv(65536)
        if not data:
            break
        got += data
    assert got.startswith(b"HTTP/1.1 200"), got[:300]
    s.close()  # mid-transfer: most of the archive is still to come


def test_client_leaving_mid_save_and_export_stops_the_worker(
    daemon: Daemon, big_image: str
) -> None:
    _leave_early(daemon, f"/images/{big_image}/get")
    assert _wait_no_xfer(daemon) == 0
    conn = UnixHTTP(daemon.socket)
    conn.request(
        "POST",
        "/v1.44/containers/create?name=robust-export",
        body=json.dumps({"Image": big_image, "Cmd": ["true"]}),
        headers={"Content-Type": "application/json"},
    )
    r = conn.getresponse()
    assert r.status == 201, r.read()
    conn.close()
    try:
        _leave_early(daemon, "/containers/robust-export/export")
        assert _wait_no_xfer(daemon) == 0
        assert daemon.ping()
        # and a whole export still works afterwards
        status, data = _call(daemon, "GET", "/containers/robust-export/export")
        assert status == 200 and len(data) > BIG
    finally:
        _call(daemon, "DELETE", "/containers/robust-export?force=1")
