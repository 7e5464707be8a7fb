"""HTTP framing, headers, version prefixes and error bodies, checked byte by byte."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import stat
import tempfile

import pytest

from cove.api.server import serve, serve_tcp
from cove.api.sockets import bind_unix, parse_tcp_address

from .conftest import ServerThread
from .fakes import FakeEngine
from .rawhttp import RawHttp, chunked

CREATE = json.dumps({"Image": "busybox", "Cmd": ["echo", "hi"]}).encode()


@pytest.fixture
def http(api: ServerThread) -> RawHttp:
    return RawHttp(api.connect())


def test_ping_get_and_head(http: RawHttp) -> None:
    r = http.request("GET", "/_ping")
    assert (r.status, r.body) == (200, b"OK")
    assert r.headers["api-version"] == "1.44"
    assert r.headers["cache-control"] == "no-cache, no-store, must-revalidate"
    assert r.headers["pragma"] == "no-cache"
    assert r.headers["ostype"] == "linux"
    assert r.headers["docker-experimental"] == "false"
    assert r.headers["server"] == "Docker/27.0.0-cove (linux)"
    assert r.headers["content-length"] == "2"
    assert "date" in r.headers
    r = http.request("HEAD", "/_ping")  # same connection: keep-alive
    assert (r.status, r.body, r.headers["content-length"]) == (200, b"", "0")
    assert r.headers["api-version"] == "1.44"


def test_keep_alive_serves_many_requests_then_connection_close(http: RawHttp) -> None:
    for _ in range(3):
        assert http.request("GET", "/version").json()["ApiVersion"] == "1.44"
    r = http.request("GET", "/_ping", headers={"Connection": "close"})
    assert r.headers["connection"] == "close"
    assert http.read_until_close() == b""


def test_pipelined_requests(http: RawHttp) -> None:
    http.send(b"GET /_ping HTTP/1.1\r\n\r\nGET /v1.40/info HTTP/1.1\r\n\r\n")
    assert http.read_response().body == b"OK"
    assert http.read_response().json()["ID"] == "fake"


def test_http10_closes_by_default(http: RawHttp) -> None:
    http.send(b"GET /_ping HTTP/1.0\r\n\r\n")
    assert http.read_response().body == b"OK"
    assert http.read_until_close() == b""


@pytest.mark.parametrize(
    "path", ["/v1.24/version", "/v1.44/version", "/version/", "/v1.41/version/"]
)
def test_accepted_versions_and_trailing_slash(http: RawHttp, path: str) -> None:
    r = http.request("GET", path)
    assert r.status == 200 and r.json()["Version"] == "27.0.0-cove"


def test_too_new_and_too_old_versions(http: RawHttp) -> None:
    r = http.request("GET", "/v1.99/version")
    assert r.status == 400
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {
        "message": "client version 1.99 is too new. Maximum supported API version is 1.44"
    }
    r = http.request("GET", "/v1.12/_ping")
    assert r.status == 400
    assert r.json()["message"] == (
        "client version 1.12 is too old. Minimum supported API version is 1.24, "
        "please upgrade your client to a newer version"
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nope"), ("GET", "/v1.44/nope"), ("DELETE", "/version"), ("GET", "/containers")],
)
def test_unknown_routes_are_page_not_found(http: RawHttp, method: str, path: str) -> None:
    r = http.request(method, path)
    assert r.status == 404
    assert r.json() == {"message": "page not found"}


def test_error_categories_map_to_statuses(api: ServerThread, http: RawHttp) -> None:
    r = http.request("GET", "/containers/nope/json")
    assert (r.status, r.json()) == (404, {"message": "No such container: nope"})
    assert http.request("POST", "/containers/create?name=a", CREATE).status == 201
    r = http.request("POST", "/containers/create?name=a", CREATE)
    assert r.status == 409 and "already in use" in r.json()["message"]
    r = http.request("POST", "/containers/create", json.dumps({"Image": "nope"}).encode())
    assert (r.status, r.json()) == (404, {"message": "No such image: nope"})
    r = http.request("POST", "/containers/create", b"")
    assert r.status == 400
    assert r.json()["message"] == "config cannot be empty in order to create a container"
    r = http.request("POST", "/containers/create", b"{not json")
    assert r.status == 400 and r.json()["message"].startswith("invalid JSON")


def test_not_modified_has_no_body(http: RawHttp) -> None:
    body = json.dumps({"Image": "busybox", "Cmd": ["sleep"]}).encode()
    cid = http.request("POST", "/containers/create", body).json()["Id"]
    assert http.request("POST", f"/containers/{cid}/start").status == 204
    r = http.request("POST", f"/containers/{cid}/start")
    assert r.status == 304
    assert "content-length" not in r.headers
    assert http.request("POST", f"/containers/{cid}/kill?signal=KILL").status == 204
    assert http.request("GET", "/_ping").body == b"OK"  # framing intact after the 304


def test_unexpected_exception_is_500_with_its_text(api: ServerThread, http: RawHttp) -> None:
    api.engine.info = api.engine.boom  # type: ignore[method-assign]
    r = http.request("GET", "/info")
    assert (r.status, r.json()) == (500, {"message": "kaboom"})


def test_chunked_request_body(http: RawHttp) -> None:
    headers = {"Transfer-Encoding": "chunked", "Content-Type": "application/json"}
    http.send_request("POST", "/containers/create?name=c", None, headers)
    http.send(chunked(CREATE[:5], CREATE[5:20], CREATE[20:]))
    r = http.read_response()
    assert r.status == 201 and r.json()["Warnings"] == []
    assert http.request("GET", "/containers/c/json").json()["Name"] == "/c"


def test_expect_continue(http: RawHttp) -> None:
    http.send_request("POST", "/containers/create", CREATE, {"Expect": "100-continue"})
    assert http.read_head()[0] == 100
    assert http.read_response().status == 201


def test_unread_body_is_skipped_for_next_request(http: RawHttp) -> None:
    # start ignores its (deprecated) body; the connection must stay in sync.
    cid = http.request("POST", "/containers/create", CREATE).json()["Id"]
    assert http.request("POST", f"/containers/{cid}/start", b'{"junk": 1}').status == 204
    assert http.request("GET", "/_ping").body == b"OK"


def test_malformed_request_gets_400_and_close(http: RawHttp) -> None:
    http.send(b"this is not http\r\n\r\n")
    r = http.read_response()
    assert r.status == 400 and r.headers["connection"] == "close"
    assert http.read_until_close() == b""


def test_bad_chunked_body_gets_400(http: RawHttp) -> None:
    http.send_request("POST", "/containers/create", None, {"Transfer-Encoding": "chunked"})
    http.send(b"zz\r\n")
    assert http.read_response().status == 400


def test_query_booleans_and_filters(api: ServerThread, http: RawHttp) -> None:
    for flag, expected in [
        ("1", True),
        ("True", True),
        ("true", True),
        ("0", False),
        ("false", False),
    ]:
        http.request("GET", f"/containers/json?all={flag}&size={flag}")
        assert api.engine.calls[-1][1:4] == (expected, -1, expected)
    http.request("GET", '/containers/json?limit=3&filters={"status":["running"]}')
    assert api.engine.calls[-1] == ("list", False, 3, False, {"status": ["running"]})
    http.request("GET", '/containers/json?filters={"status":{"exited":true}}')
    assert api.engine.calls[-1][4] == {"status": ["exited"]}
    assert http.request("GET", "/containers/json?limit=x").status == 400
    assert http.request("GET", "/containers/json?filters=[").status == 400


def test_socket_mode_and_stale_socket_replaced(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(str(tmp_path), "s.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    sock = bind_unix(path)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        assert stat.S_ISSOCK(os.stat(path).st_mode)
    finally:
        sock.close()
    regular = os.path.join(str(tmp_path), "file")
    open(regular, "w").close()
    with pytest.raises(Exception, match="not a socket"):
        bind_unix(regular)


def test_parse_tcp_address() -> None:
    assert parse_tcp_address("127.0.0.1:2375") == ("127.0.0.1", 2375)
    assert parse_tcp_address("tcp://[::1]:2376") == ("::1", 2376)
    assert parse_tcp_address(":2375") == ("0.0.0.0", 2375)


async def _ping_over(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n")
    data = await reader.read()
    writer.close()
    return data


def test_serve_entry_points_unix_and_tcp() -> None:
    async def main() -> tuple[bytes, bytes]:
        tmp = tempfile.mkdtemp(prefix="cove-api-")
        path = os.path.join(tmp, "d.sock")
        unix_server = await serve(FakeEngine(), path)
        tcp_server = await serve_tcp(FakeEngine(), "127.0.0.1:0")
        port = tcp_server.sockets[0].getsockname()[1]
        try:
            via_unix = await _ping_over(*await asyncio.open_unix_connection(path))
            via_tcp = await _ping_over(*await asyncio.open_connection("127.0.0.1", port))
        finally:
            unix_server.close()
            tcp_server.close()
            shutil.rmtree(tmp, ignore_errors=True)
        return via_unix, via_tcp

    for data in asyncio.run(main()):
        assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\nOK")
