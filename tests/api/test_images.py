"""Image routes: references with slashes and colons, import from a chunked body, pull."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from .conftest import ServerThread
from .rawhttp import RawHttp, chunked


@pytest.fixture
def http(api: ServerThread) -> Iterator[RawHttp]:
    conn = RawHttp(api.connect())
    yield conn
    conn.close()


def json_lines(body: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def test_names_with_registry_port_and_slashes(http: RawHttp) -> None:
    r = http.request("GET", "/v1.44/images/localhost:5000/app:1/json")
    assert r.status == 200 and r.json()["RepoTags"] == ["localhost:5000/app:1"]
    r = http.request("GET", "/images/localhost:5000/app:1/history")
    assert r.json()[0]["CreatedBy"] == "fake"
    r = http.request("GET", "/images/localhost%3A5000%2Fapp%3A1/json")  # escaped form
    assert r.status == 200
    r = http.request("GET", "/images/nope/json")
    assert (r.status, r.json()) == (404, {"message": "No such image: nope"})


def test_list_tag_remove(api: ServerThread, http: RawHttp) -> None:
    assert len(http.request("GET", "/images/json?all=1&digests=1").json()) == 2
    r = http.request("POST", "/images/busybox/tag?repo=localhost:5000/bb&tag=v2")
    assert (r.status, r.body, r.headers["content-length"]) == (201, b"", "0")
    assert "localhost:5000/bb:v2" in api.engine.images
    r = http.request("DELETE", "/images/localhost:5000/bb:v2?force=1&noprune=0")
    assert r.json() == [
        {"Untagged": "localhost:5000/bb:v2"},
        {"Deleted": "sha256:" + "ab" * 32},
    ]


def test_import_from_chunked_body(api: ServerThread, http: RawHttp) -> None:
    payload = bytes(range(256)) * 1000
    parts = [payload[i : i + 7000] for i in range(0, len(payload), 7000)]
    http.send_request(
        "POST",
        "/images/create?fromSrc=-&repo=imported&tag=v1&changes=CMD%20%5B%22sh%22%5D"
        "&changes=ENV%20A%3D1&message=hello",
        None,
        {"Transfer-Encoding": "chunked", "Content-Type": "application/x-tar"},
    )
    http.send(chunked(*parts))
    r = http.read_response()
    assert r.status == 200 and r.headers["transfer-encoding"] == "chunked"
    digest = "sha256:" + hashlib.sha256(payload).hexdigest()
    assert json_lines(r.body) == [{"status": digest}]
    assert api.engine.imported == [payload]
    assert api.engine.calls[-1] == ("import", "imported", "v1", ['CMD ["sh"]', "ENV A=1"], "hello")
    assert http.request("GET", "/_ping").body == b"OK"


def test_import_failure_is_an_http_error(http: RawHttp) -> None:
    r = http.request("POST", "/images/create?fromSrc=-", b"bad tar")
    assert (r.status, r.json()) == (400, {"message": "archive/tar: invalid tar header"})
    r = http.request("POST", "/images/create")
    assert r.status == 400


def test_pull_error_before_progress_is_the_status(http: RawHttp) -> None:
    r = http.request("POST", "/images/create?fromImage=busybox&tag=latest")
    assert r.status == 404
    assert "pull access denied for busybox" in r.json()["message"]


def test_pull_progress_and_errors(pulling_api: ServerThread) -> None:
    http = RawHttp(pulling_api.connect())
    r = http.request(
        "POST", "/images/create?fromImage=busybox&tag=1.36", None, {"X-Registry-Auth": "e30="}
    )
    assert r.status == 200
    assert [m["status"] for m in json_lines(r.body)] == [
        "Pulling from library/busybox",
        "Status: Downloaded newer image for busybox:1.36",
    ]
    assert pulling_api.engine.calls[-1] == ("pull", "busybox", "1.36", None, "e30=")
    r = http.request("POST", "/images/create?fromImage=missing")
    assert (r.status, r.json()) == (404, {"message": "No such image: missing"})
    r = http.request("POST", "/images/create?fromImage=broken")
    assert r.status == 200
    assert json_lines(r.body)[-1] == {
        "errorDetail": {"message": "manifest unknown"},
        "error": "manifest unknown",
    }
