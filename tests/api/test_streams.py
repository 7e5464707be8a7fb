"""Hijacked attach/exec streams, wait, logs and events on the wire."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from .conftest import ServerThread
from .rawhttp import RawHttp, frames

UPGRADE = {"Connection": "Upgrade", "Upgrade": "tcp"}


@pytest.fixture
def http(api: ServerThread) -> Iterator[RawHttp]:
    conn = RawHttp(api.connect())
    yield conn
    conn.close()


def create(http: RawHttp, cmd: list[str], tty: bool = False, **extra: object) -> str:
    body = json.dumps({"Image": "busybox", "Cmd": cmd, "Tty": tty, **extra}).encode()
    r = http.request("POST", "/containers/create", body)
    assert r.status == 201, r.body
    cid: str = r.json()["Id"]
    return cid


def test_attach_upgrade_multiplexed_with_half_close(api: ServerThread, http: RawHttp) -> None:
    cid = create(http, ["cat"])
    attach = RawHttp(api.connect())
    attach.send_request(
        "POST", f"/containers/{cid}/attach?stream=1&stdin=1&stdout=1&stderr=1", None, UPGRADE
    )
    status, reason, headers = attach.read_head()
    assert (status, reason) == (101, "UPGRADED")
    assert headers["content-type"] == "application/vnd.docker.multiplexed-stream"
    assert headers["connection"] == "Upgrade" and headers["upgrade"] == "tcp"
    assert headers["api-version"] == "1.44"
    assert http.request("POST", f"/containers/{cid}/start").status == 204
    attach.send(b"hello ")
    attach.send(b"world\n")
    attach.sock.shutdown(socket.SHUT_WR)  # half-close: stdin EOF, output continues
    out = attach.read_until_close()
    assert b"".join(d for _, d in frames(out)) == b"hello world\n"
    assert {s for s, _ in frames(out)} == {1}
    proc = api.engine.containers[cid].proc
    assert proc.received == b"hello world\n" and proc.stdin_closed
    r = http.request("POST", f"/containers/{cid}/wait")
    assert r.json() == {"StatusCode": 0, "Error": None}


def test_attach_frames_stdout_and_stderr(api: ServerThread, http: RawHttp) -> None:
    cid = create(http, ["both"])
    attach = RawHttp(api.connect())
    attach.send_request(
        "POST", f"/containers/{cid}/attach?stream=1&stdout=1&stderr=1", None, UPGRADE
    )
    assert attach.read_head()[0] == 101
    http.request("POST", f"/containers/{cid}/start")
    assert frames(attach.read_until_close()) == [(1, b"out\n"), (2, b"err\n")]


def test_attach_tty_is_raw(api: ServerThread, http: RawHttp) -> None:
    cid = create(http, ["echo", "hi"], tty=True)
    attach = RawHttp(api.connect())
    attach.send_request("POST", f"/containers/{cid}/attach?stream=1&stdout=1", None, UPGRADE)
    status, _, headers = attach.read_head()
    assert status == 101
    assert headers["content-type"] == "application/vnd.docker.raw-stream"
    http.request("POST", f"/containers/{cid}/start")
    assert attach.read_until_close() == b"hi\r\n"


def test_attach_without_upgrade_and_old_api(api: ServerThread, http: RawHttp) -> None:
    cid = create(http, ["both"])
    attach = RawHttp(api.connect())
    attach.send_request("POST", f"/v1.41/containers/{cid}/attach?stream=1&stdout=1&stderr=1")
    status, reason, headers = attach.read_head()
    assert (status, reason) == (200, "OK")
    assert headers["content-type"] == "application/vnd.docker.raw-stream"  # < 1.42
    assert "content-length" not in headers and "transfer-encoding" not in headers
    http.request("POST", f"/containers/{cid}/start")
    assert frames(attach.read_until_close()) == [(1, b"out\n"), (2, b"err\n")]


def test_attach_session_closed_when_client_hangs_up(api: ServerThread, http: RawHttp) -> None:
    cid = create(http, ["sleep"])
    http.request("POST", f"/containers/{cid}/start")
    attach = RawHttp(api.connect())
    attach.send_request(
        "POST", f"/containers/{cid}/attach?stream=1&stdin=1&stdout=1", None, UPGRADE
    )
    assert attach.read_head()[0] == 101
    proc = api.engine.containers[cid].proc
    session = proc.sessions[0]
    attach.sock.shutdown(socket.SHUT_WR)  # half-close: the session stays
    deadline = time.monotonic() + 5
    while not proc.stdin_closed and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.7)
    assert proc.stdin_closed and not session.closed
    attach.close()  # full close, container silent: noticed without a write
    while not session.closed and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session.closed and proc.running


def test_attach_missing_container_is_404(http: RawHttp) -> None:
    r = http.request("POST", "/containers/nope/attach?stream=1", None, UPGRADE)
    assert (r.status, r.json()) == (404, {"message": "No such container: nope"})


def test_wait_sends_headers_before_the_container_exits(api: ServerThread, http: RawHttp) -> None:
    cid = create(http, ["sleep"])
    http.request("POST", f"/containers/{cid}/start")
    waiter = RawHttp(api.connect())
    waiter.send_request("POST", f"/containers/{cid}/wait?condition=not-running")
    status, _, headers = waiter.read_head()  # arrives while the container still runs
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    assert headers["content-type"] == "application/json"
    assert api.engine.containers[cid].proc.running
    assert http.request("POST", f"/containers/{cid}/kill").status == 204
    assert json.loads(waiter.read_chunk() or b"") == {"StatusCode": 137, "Error": None}
    assert waiter.read_chunk() is None
    assert waiter.request("GET", "/_ping").body == b"OK"  # keep-alive after a stream


def test_wait_errors(http: RawHttp) -> None:
    r = http.request("POST", "/containers/nope/wait")
    assert (r.status, r.json()) == (404, {"message": "No such container: nope"})
    cid = create(http, ["echo"])
    r = http.request("POST", f"/containers/{cid}/wait?condition=whenever")
    assert r.status == 400


def test_wait_cancelled_when_client_leaves(api: ServerThread, http: RawHttp) -> None:
    cid = create(http, ["sleep"])
    waiter = RawHttp(api.connect())
    waiter.send_request("POST", f"/containers/{cid}/wait")
    assert waiter.read_head()[0] == 200
    waiter.close()
    assert http.request("GET", "/_ping").status == 200


def test_logs_multiplexed_and_filtered(api: ServerThread, http: RawHttp) -> None:
    cid = create(http, ["both"])
    http.request("POST", f"/containers/{cid}/start")
    http.request("POST", f"/containers/{cid}/wait")
    r = http.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1")
    assert r.headers["content-type"] == "application/vnd.docker.multiplexed-stream"
    assert frames(r.body) == [(1, b"out\n"), (2, b"err\n")]
    r = http.request("GET", f"/containers/{cid}/logs?stderr=true&tail=5&since=1.5&timestamps=1")
    assert frames(r.body) == [(2, b"err\n")]
    kw = api.engine.calls[-1][2]
    assert (kw["tail"], kw["since"], kw["until"], kw["timestamps"]) == ("5", 1.5, 0.0, True)
    r = http.request("GET", f"/containers/{cid}/logs")
    assert r.status == 400
    assert r.json()["message"] == "Bad parameters: you must choose at least one stream"


def test_logs_tty_raw_and_follow(api: ServerThread, http: RawHttp) -> None:
    cid = create(http, ["cat"], tty=True)
    attach = RawHttp(api.connect())
    attach.send_request("POST", f"/containers/{cid}/attach?stream=1&stdin=1", None, UPGRADE)
    assert attach.read_head()[0] == 101
    http.request("POST", f"/containers/{cid}/start")
    follower = RawHttp(api.connect())
    follower.send_request("GET", f"/containers/{cid}/logs?stdout=1&follow=1")
    headers = follower.read_head()[2]
    assert headers["content-type"] == "application/vnd.docker.raw-stream"
    attach.send(b"one\n")
    assert follower.read_chunk() == b"one\r\n"
    attach.sock.shutdown(socket.SHUT_WR)
    assert follower.read_chunk() is None  # the followed container stopped


def test_events_stream_and_disconnect(api: ServerThread, http: RawHttp) -> None:
    http.send_request("GET", '/events?since=100&filters={"type":["container"]}')
    status, _, headers = http.read_head()
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(http.read_chunk() or b"")["Action"] == "start"
    assert api.engine.calls[-1] == ("events", 100.0, None, {"type": ["container"]})
    queue = api.engine.event_queue
    assert queue is not None
    api.call(lambda: queue.put_nowait({"Type": "image", "Action": "pull"}))
    assert json.loads(http.read_chunk() or b"")["Action"] == "pull"
    http.close()
    deadline = time.monotonic() + 5
    while not api.engine.events_closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert api.engine.events_closed  # the engine's iterator was closed on hang-up


def test_exec_non_tty_tty_and_detached(api: ServerThread, http: RawHttp) -> None:
    cid = create(http, ["sleep"])
    http.request("POST", f"/containers/{cid}/start")
    body = json.dumps({"Cmd": ["both"], "AttachStdout": True, "AttachStderr": True}).encode()
    r = http.request("POST", f"/containers/{cid}/exec", body)
    assert r.status == 201
    exec_id = r.json()["Id"]
    start = RawHttp(api.connect())
    start.send_request("POST", f"/exec/{exec_id}/start", b'{"Detach":false,"Tty":false}', UPGRADE)
    status, _, headers = start.read_head()
    assert status == 101
    assert headers["content-type"] == "application/vnd.docker.multiplexed-stream"
    assert frames(start.read_until_close()) == [(1, b"out\n"), (2, b"err\n")]
    assert http.request("GET", f"/exec/{exec_id}/json").json()["ExitCode"] == 0

    body = json.dumps({"Cmd": ["echo", "tty"], "Tty": True}).encode()
    exec_id = http.request("POST", f"/containers/{cid}/exec", body).json()["Id"]
    start = RawHttp(api.connect())
    start.send_request(
        "POST",
        f"/exec/{exec_id}/start",
        b'{"Detach":false,"Tty":true,"ConsoleSize":[24,80]}',
        UPGRADE,
    )
    status, _, headers = start.read_head()
    assert headers["content-type"] == "application/vnd.docker.raw-stream"
    assert start.read_until_close() == b"tty\r\n"
    assert ("exec_resize", exec_id, 24, 80) in api.engine.calls
    assert http.request("POST", f"/exec/{exec_id}/resize?h=10&w=20").status == 200

    exec_id = http.request("POST", f"/containers/{cid}/exec", body).json()["Id"]
    r = http.request("POST", f"/exec/{exec_id}/start", b'{"Detach":true}')
    assert (r.status, r.body) == (200, b"")
    r = http.request("POST", "/exec/nope/start", b"{}")
    assert (r.status, r.json()) == (404, {"message": "No such exec instance: nope"})


def test_container_lifecycle_routes(api: ServerThread, http: RawHttp) -> None:
    cid = create(http, ["sleep"])
    assert http.request("POST", f"/containers/{cid}/rename?name=web").status == 204
    assert http.request("GET", "/containers/web/json").json()["Id"] == cid
    assert http.request("POST", f"/containers/{cid}/start").status == 204
    assert http.request("POST", f"/containers/{cid}/resize?h=24&w=80").status == 200
    assert http.request("POST", f"/containers/{cid}/resize?h=24").status == 400
    top = http.request("GET", f"/containers/{cid}/top?ps_args=aux").json()
    assert top["Processes"] == [["1", "aux"]]
    assert http.request("POST", f"/containers/{cid}/restart?t=3").status == 204
    assert ("restart", cid, 3, None) in api.engine.calls
    r = http.request("DELETE", f"/containers/{cid}")
    assert r.status == 409
    assert http.request("POST", f"/containers/{cid}/stop?t=1&signal=SIGTERM").status == 204
    assert api.engine.calls[-1] == ("stop", cid, 1, "SIGTERM")
    assert http.request("POST", f"/containers/{cid}/stop").status == 304
    assert http.request("DELETE", f"/containers/{cid}?force=1&v=1").status == 204
    assert http.request("GET", f"/containers/{cid}/json").status == 404
