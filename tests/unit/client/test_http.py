"""The HTTP client and the stream pump over socketpairs and a tiny threaded server."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from cove.client.api import Client
from cove.client.errors import APIError, DaemonUnreachable
from cove.client.http import read_response
from cove.client.stream import Pump, encode_frame


def answer(raw: bytes) -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    b.sendall(raw)
    b.shutdown(socket.SHUT_WR)
    return a, b


def test_content_length_body() -> None:
    a, _ = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhelloEXTRA")
    resp = read_response(a)
    assert (resp.status, resp.headers["x-a"]) == (200, "b")
    assert resp.read() == b"hello"


def test_chunked_body_and_lines() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    raw += b'5\r\n{"a":\r\n9;ext=1\r\n1}\n{"b":2\r\n2\r\n}\n\r\n0\r\n\r\n'
    resp = read_response(socket_pair_reader(raw))
    assert list(resp.iter_lines()) == [b'{"a":1}', b'{"b":2}']


def socket_pair_reader(raw: bytes) -> socket.socket:
    a, _ = answer(raw)
    return a


def test_body_until_close_and_no_body_statuses() -> None:
    resp = read_response(socket_pair_reader(b"HTTP/1.0 200 OK\r\n\r\nall of it"))
    assert resp.read() == b"all of it"
    resp = read_response(socket_pair_reader(b"HTTP/1.1 204 No Content\r\n\r\n"))
    assert resp.read() == b""


Handler = Callable[[socket.socket, bytes], None]


@pytest.fixture
def server(tmp_path: os.PathLike[str]) -> Iterator[Callable[[Handler], str]]:
    """Serve each connection with ``handler(conn, request_head_and_body)`` in a thread."""
    path = os.path.join(os.fspath(tmp_path), "d.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(8)
    handlers: list[Handler] = []

    def loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            while len(rest) < length:
                rest += conn.recv(65536)
            handlers[0](conn, head + b"\r\n\r\n" + rest)

    thread = threading.Thread(target=loop, daemon=True)

    def start(handler: Handler) -> str:
        handlers.append(handler)
        thread.start()
        return f"unix://{path}"

    yield start
    listener.close()


def reply(conn: socket.socket, status: str, body: bytes) -> None:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    conn.sendall(head + body)
    conn.close()


def test_json_call_and_error(server: Callable[[Handler], str]) -> None:
    seen: list[bytes] = []

    def handler(conn: socket.socket, req: bytes) -> None:
        seen.append(req)
        if b"/nope" in req:
            reply(conn, "404 Not Found", b'{"message":"No such container: nope"}')
        else:
            reply(conn, "201 Created", b'{"Id":"abc","Warnings":[]}')

    client = Client(server(handler), version="1.44")
    assert client.post("/containers/create", {"name": "x"}, {"Image": "busybox"})["Id"] == "abc"
    assert seen[0].startswith(b"POST /v1.44/containers/create?name=x HTTP/1.1\r\n")
    assert b"Content-Type: application/json" in seen[0]
    assert seen[0].endswith(b'{"Image":"busybox"}')
    with pytest.raises(APIError) as e:
        client.get("/containers/nope/json")
    assert (e.value.status, e.value.message) == (404, "No such container: nope")


def test_version_fallback(server: Callable[[Handler], str]) -> None:
    def handler(conn: socket.socket, req: bytes) -> None:
        if req.startswith(b"GET /v1.44/"):
            msg = b'{"message":"client version 1.44 is too new. '
            msg += b'Maximum supported API version is 1.41"}'
            reply(conn, "400 Bad Request", msg)
        else:
            reply(conn, "200 OK", b"[]")

    client = Client(server(handler), version="1.44")
    assert client.get("/containers/json") == []
    assert client.version == "1.41"


def test_unreachable(tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVE_NO_AUTOSTART", "1")
    client = Client(f"unix://{os.fspath(tmp_path)}/none.sock")
    with pytest.raises(DaemonUnreachable, match="Is the cove daemon running"):
        client.get("/_ping")


def test_hijack_pump_full_duplex(server: Callable[[Handler], str]) -> None:
    """stdin reaches the daemon, EOF half-closes, frames are split to stdout/stderr."""

    def handler(conn: socket.socket, req: bytes) -> None:
        assert b"Upgrade: tcp" in req and b"Connection: Upgrade" in req
        conn.sendall(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        conn.sendall(encode_frame(1, b"ready\n"))
        got = b""
        while chunk := conn.recv(65536):  # until the client's half-close
            got += chunk
        conn.sendall(encode_frame(1, got.upper()) + encode_frame(2, b"bye\n"))
        conn.close()

    client = Client(server(handler), version="1.44")
    resp = client.hijack("/containers/x/attach", {"stream": True, "stdin": True})
    assert resp.status == 101
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    os.write(in_w, b"hello stdin")
    os.close(in_w)
    pump = Pump(resp, tty=False, stdin_fd=in_r, out_fd=out_w, err_fd=err_w)
    pump.run()
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    assert os.read(out_r, 1000) == b"ready\nHELLO STDIN"
    assert os.read(err_r, 1000) == b"bye\n"
    assert not pump.detached


def test_hijack_refused(server: Callable[[Handler], str]) -> None:
    def handler(conn: socket.socket, req: bytes) -> None:
        reply(conn, "409 Conflict", b'{"message":"container is not running"}')

    client = Client(server(handler), version="1.44")
    with pytest.raises(APIError, match="not running"):
        client.hijack("/containers/x/attach")
