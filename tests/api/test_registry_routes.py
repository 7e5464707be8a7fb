"""Registry routes over the wire: pull (POST /images/create), push, POST /auth, search.

The engine behind them is a fake whose messages come from the distribution client's own
``Reporter`` and whose errors are the client's own (Docker's wording), so the checks are on
what the API layer does with them: statuses, the JSON progress stream, X-Registry-Auth.
The docker CLI and docker-py tests at the end render the same streams as a user sees them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from cove.distribution.registry.auth import ANONYMOUS, Credentials, decode_registry_auth
from cove.distribution.registry.errors import (
    RegistryNotFound,
    RegistryUnauthorized,
    network_error,
)
from cove.distribution.registry.progress import Reporter
from cove.engine.images.registry_ops import _search_filter
from cove.errors import InvalidArgument, NotFound

from .conftest import ServerThread, _start
from .fakes import FakeEngine
from .rawhttp import RawHttp, RawResponse

Json = dict[str, Any]
LAYER = "sha256:" + "1a" * 32
CONFIG = "sha256:" + "c0" * 32
MANIFEST = "sha256:" + "f0" * 32
WRONG = "unauthorized: incorrect username or password"
REFUSED = "127.0.0.1:5999"  # where nothing listens (the fake never dials it)


def refused(path: str = "/v2/") -> Exception:
    return network_error("GET", f"http://{REFUSED}{path}", REFUSED, ConnectionRefusedError())


def familiar(name: str) -> str:
    """The docker CLI sends ``docker.io/library/busybox``; the fake's cases use the short form."""
    return name.removeprefix("docker.io/").removeprefix("library/")


class RegistryEngine(FakeEngine):
    """Pull, push, login and search as the engine exposes them, without a registry."""

    def __init__(self) -> None:
        super().__init__()
        self.creds: list[tuple[str, Credentials]] = []  # what each operation was handed
        self.logins: list[Json] = []
        self.searches: list[tuple[str, int, dict[str, list[str]]]] = []

    def _auth(self, op: str, header: str | None) -> None:
        self.creds.append((op, decode_registry_auth(header)))

    def image_pull(
        self, image: str, tag: str | None, platform: str | None, auth: str | None
    ) -> AsyncIterator[Json]:
        self.calls.append(("pull", image, tag, platform, auth))

        async def progress() -> AsyncIterator[Json]:
            # Like the engine: nothing is checked before the first message is asked for.
            self._auth("pull", auth)
            name = familiar(image)
            shown = f"{name}:{tag or 'latest'}"
            if name == "missing":
                raise RegistryNotFound(
                    f"manifest for {shown} not found: manifest unknown: manifest unknown",
                    404,
                    "MANIFEST_UNKNOWN",
                )
            if name == "private":
                raise RegistryNotFound(
                    "pull access denied for private, repository does not exist or may require "
                    "'docker login': denied: requested access to the resource is denied",
                    401,
                    "DENIED",
                )
            if name.startswith(REFUSED):
                raise refused()
            out: list[Json] = []
            report = Reporter(out.append)
            report.status(f"Pulling from library/{name}", tag or "latest")
            report.status("Pulling fs layer", LAYER[7:19], {})
            report.bytes("Downloading", LAYER[7:19], 1000, 2000)
            report.bytes("Downloading", LAYER[7:19], 2000, 2000)
            if name == "corrupt":
                for m in out:
                    yield m
                raise InvalidArgument(f"filesystem layer verification failed for digest {LAYER}")
            report.status("Download complete", LAYER[7:19], {})
            report.status("Pull complete", LAYER[7:19], {})
            report.status(f"Digest: {MANIFEST}")
            report.status(f"Status: Downloaded newer image for {shown}")
            for m in out:
                yield m

        return progress()

    def image_push(self, name: str, tag: str | None, auth: str | None) -> AsyncIterator[Json]:
        self.calls.append(("push", name, tag, auth))
        name = familiar(name)
        if name == "nothere":
            raise NotFound(f"An image does not exist locally with the tag: {name}")

        async def progress() -> AsyncIterator[Json]:
            self._auth("push", auth)
            out: list[Json] = []
            report = Reporter(out.append)
            report.status(f"The push refers to repository [{name}]")
            yield out.pop()
            if name.startswith(REFUSED):
                raise refused()
            report.status("Preparing", LAYER[7:19], {})
            report.status("Preparing", CONFIG[7:19], {})
            if name == "denied/app":
                for m in out:
                    yield m
                raise RegistryUnauthorized("unauthorized: authentication required", 401)
            report.bytes("Pushing", LAYER[7:19], 512, 1024)
            report.bytes("Pushing", LAYER[7:19], 1024, 1024)
            report.status("Pushed", LAYER[7:19], {})
            report.status("Layer already exists", CONFIG[7:19], {})
            report.status(f"{tag or 'latest'}: digest: {MANIFEST} size: 527")
            report.aux({"Tag": tag or "latest", "Digest": MANIFEST, "Size": 527})
            for m in out:
                yield m

        return progress()

    async def auth(self, body: Json) -> Json:
        self.logins.append(body)
        server = str(body.get("serveraddress") or "")
        if server == REFUSED:
            raise refused()
        if body.get("password") != "s3cret":
            raise RegistryUnauthorized(
                f'Get "http://{server}/v2/": unauthorized: incorrect username or password', 401
            )
        return {"Status": "Login Succeeded", "IdentityToken": ""}

    async def image_search(
        self, term: str, limit: int, filters: dict[str, list[str]], auth: str | None
    ) -> list[Json]:
        self._auth("search", auth)
        self.searches.append((term, limit, filters))
        check = _search_filter(filters)  # the engine's own filter: its errors, its rules
        if limit < 1 or limit > 100:
            raise InvalidArgument(f"limit {limit} is outside the range of [1, 100]")
        if term.startswith(REFUSED):
            raise refused("/v1/search")
        found = [
            {"name": "team/app", "description": "the app", "star_count": 5,
             "is_official": True, "is_automated": False},
            {"name": "team/app-dev", "description": "", "star_count": 1,
             "is_official": False, "is_automated": True},
        ]  # fmt: skip
        return [r for r in found if check(r)][:limit]


@pytest.fixture
def reg_api() -> Iterator[ServerThread]:
    yield from _start(RegistryEngine())


@pytest.fixture
def http(reg_api: ServerThread) -> Iterator[RawHttp]:
    conn = RawHttp(reg_api.connect())
    yield conn
    conn.close()


def engine(server: ServerThread) -> RegistryEngine:
    assert isinstance(server.engine, RegistryEngine)
    return server.engine


def lines(r: RawResponse) -> list[Json]:
    """The body as JSON lines, checking each message is one compact line, as dockerd's."""
    out = []
    for raw in r.body.split(b"\n"):
        if raw:
            msg = json.loads(raw)
            assert isinstance(msg, dict) and b"\n" not in raw
            out.append(msg)
    assert r.body.endswith(b"\n")
    return out


def b64(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()


# --- pull: POST /images/create?fromImage= --------------------------------------------------------
def test_pull_progress_stream(reg_api: ServerThread, http: RawHttp) -> None:
    r = http.request("POST", "/v1.44/images/create?fromImage=busybox&tag=1.36&platform=linux/amd64")
    assert r.status == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["transfer-encoding"] == "chunked"
    msgs = lines(r)
    short = LAYER[7:19]
    assert msgs[0] == {"status": "Pulling from library/busybox", "id": "1.36"}
    assert msgs[1] == {"status": "Pulling fs layer", "progressDetail": {}, "id": short}
    bar = msgs[2]
    assert bar["status"] == "Downloading" and bar["id"] == short
    assert bar["progressDetail"] == {"current": 1000, "total": 2000}
    assert bar["progress"].startswith("[" + "=" * 25 + ">") and bar["progress"].endswith("2kB")
    assert [m["status"] for m in msgs[3:]] == [
        "Downloading",
        "Download complete",
        "Pull complete",
        f"Digest: {MANIFEST}",
        "Status: Downloaded newer image for busybox:1.36",
    ]
    assert engine(reg_api).calls[-1] == ("pull", "busybox", "1.36", "linux/amd64", None)


@pytest.mark.parametrize(
    ("image", "status", "message"),
    [
        (
            "missing",
            404,
            "manifest for missing:latest not found: manifest unknown: manifest unknown",
        ),
        (
            "private",
            404,
            "pull access denied for private, repository does not exist or may require "
            "'docker login': denied: requested access to the resource is denied",
        ),
        (
            f"{REFUSED}/app",
            503,
            f'Get "http://{REFUSED}/v2/": dial tcp {REFUSED}: connect: connection refused',
        ),
    ],
)
def test_pull_errors_before_any_progress_are_http_errors(
    http: RawHttp, image: str, status: int, message: str
) -> None:
    r = http.request("POST", "/images/create?fromImage=" + urllib.parse.quote(image, safe=""))
    assert (r.status, r.json()) == (status, {"message": message})
    assert r.headers["content-type"] == "application/json"


def test_pull_error_after_progress_is_the_last_line(http: RawHttp) -> None:
    r = http.request("POST", "/images/create?fromImage=corrupt&tag=1")
    assert r.status == 200
    msgs = lines(r)
    assert msgs[0]["status"] == "Pulling from library/corrupt"
    text = f"filesystem layer verification failed for digest {LAYER}"
    assert msgs[-1] == {"errorDetail": {"message": text}, "error": text}
    assert http.request("GET", "/_ping").body == b"OK"  # the connection is still good


# --- X-Registry-Auth -----------------------------------------------------------------------------
ALICE = {"username": "alice", "password": "pa?ss>>w/rd~", "serveraddress": "127.0.0.1:5000"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ANONYMOUS),
        ("", ANONYMOUS),
        ("e30=", ANONYMOUS),  # base64url("{}"): what the docker CLI sends when logged out
        ("e30", ANONYMOUS),  # unpadded
        ("{}", ANONYMOUS),  # not base64 at all: dockerd ignores what it cannot decode
        ("%%%not-base64", ANONYMOUS),
        (b64(None), ANONYMOUS),  # "null"
        (b64(["alice"]), ANONYMOUS),
        (b64(ALICE), Credentials("alice", "pa?ss>>w/rd~")),
        (b64(ALICE).rstrip("="), Credentials("alice", "pa?ss>>w/rd~")),
        (b64({"identitytoken": "refresh-1"}), Credentials(identity_token="refresh-1")),
        (b64({"registrytoken": "bearer-1"}), Credentials(registry_token="bearer-1")),
    ],
)
def test_registry_auth_header_on_pull_push_and_search(
    reg_api: ServerThread, header: str | None, expected: Credentials
) -> None:
    # the url-safe alphabet matters: this password encodes with "-" and "_"
    assert "-" in b64(ALICE) or "_" in b64(ALICE)
    headers = {} if header is None else {"X-Registry-Auth": header}
    http = RawHttp(reg_api.connect())
    assert http.request("POST", "/images/create?fromImage=busybox", None, headers).status == 200
    assert http.request("POST", "/images/team/app/push?tag=1", None, headers).status == 200
    assert http.request("GET", "/images/search?term=app", None, headers).status == 200
    assert engine(reg_api).creds == [("pull", expected), ("push", expected), ("search", expected)]


def test_push_takes_the_old_body_form_without_a_header(reg_api: ServerThread) -> None:
    http = RawHttp(reg_api.connect())
    body = json.dumps({"username": "bob", "password": "pw"}).encode()
    r = http.request("POST", "/images/team/app/push?tag=1", body, {"Content-Type": "text/plain"})
    assert r.status == 200
    # docker-py sends "{}" when it has no credentials; anything unreadable is anonymous
    for other in (b"{}", b"", b"not json", b"[1]"):
        assert http.request("POST", "/images/team/app/push?tag=1", other).status == 200
    got = [c for op, c in engine(reg_api).creds if op == "push"]
    assert got == [Credentials("bob", "pw"), ANONYMOUS, ANONYMOUS, ANONYMOUS, ANONYMOUS]


def test_a_header_wins_over_the_body(reg_api: ServerThread) -> None:
    http = RawHttp(reg_api.connect())
    body = json.dumps({"username": "bob", "password": "pw"}).encode()
    headers = {"X-Registry-Auth": b64({"username": "alice", "password": "x"})}
    assert http.request("POST", "/images/team/app/push?tag=1", body, headers).status == 200
    bad = {"X-Registry-Auth": "%%%"}  # present but unreadable: anonymous, body unused
    assert http.request("POST", "/images/team/app/push?tag=1", body, bad).status == 200
    got = [c for op, c in engine(reg_api).creds if op == "push"]
    assert got == [Credentials("alice", "x"), ANONYMOUS]


# --- push: POST /images/{name}/push --------------------------------------------------------------
def test_push_progress_stream(reg_api: ServerThread, http: RawHttp) -> None:
    r = http.request("POST", "/v1.44/images/127.0.0.1:5000/team/app/push?tag=1.0", b"{}")
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    msgs = lines(r)
    short = LAYER[7:19]
    assert msgs[0] == {"status": "The push refers to repository [127.0.0.1:5000/team/app]"}
    assert {"status": "Preparing", "progressDetail": {}, "id": short} in msgs
    pushing = [m for m in msgs if m.get("status") == "Pushing"]
    assert pushing[0]["progressDetail"] == {"current": 512, "total": 1024}
    assert "progress" in pushing[0]
    assert {"status": "Pushed", "progressDetail": {}, "id": short} in msgs
    assert msgs[-2] == {"status": f"1.0: digest: {MANIFEST} size: 527"}
    assert msgs[-1] == {
        "progressDetail": {},
        "aux": {"Tag": "1.0", "Digest": MANIFEST, "Size": 527},
    }
    assert engine(reg_api).calls[-1] == ("push", "127.0.0.1:5000/team/app", "1.0", None)


def test_push_of_every_tag_passes_no_tag(reg_api: ServerThread, http: RawHttp) -> None:
    assert http.request("POST", "/images/team%2Fapp/push").status == 200
    assert engine(reg_api).calls[-1] == ("push", "team/app", None, None)


def test_push_errors(http: RawHttp) -> None:
    r = http.request("POST", "/images/nothere/push?tag=latest")
    assert (r.status, r.json()) == (
        404,
        {"message": "An image does not exist locally with the tag: nothere"},
    )
    r = http.request("POST", f"/images/{REFUSED}/app/push?tag=1")
    assert r.status == 200  # the first message went out: the error is in the stream
    msgs = lines(r)
    text = f'Get "http://{REFUSED}/v2/": dial tcp {REFUSED}: connect: connection refused'
    assert msgs == [
        {"status": f"The push refers to repository [{REFUSED}/app]"},
        {"errorDetail": {"message": text}, "error": text},
    ]
    msgs = lines(http.request("POST", "/images/denied/app/push?tag=1"))
    assert msgs[-1] == {
        "errorDetail": {"message": "unauthorized: authentication required"},
        "error": "unauthorized: authentication required",
    }


# --- login: POST /auth ---------------------------------------------------------------------------
def test_login(reg_api: ServerThread, http: RawHttp) -> None:
    body = {"username": "alice", "password": "s3cret", "serveraddress": "127.0.0.1:5000"}
    r = http.request(
        "POST", "/v1.44/auth", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    assert (r.status, r.json()) == (200, {"Status": "Login Succeeded", "IdentityToken": ""})
    assert engine(reg_api).logins == [body]


def test_login_errors(http: RawHttp) -> None:
    wrong = {"username": "alice", "password": "nope", "serveraddress": "127.0.0.1:5000"}
    r = http.request("POST", "/auth", json.dumps(wrong).encode())
    assert (r.status, r.json()) == (
        401,
        {"message": f'Get "http://127.0.0.1:5000/v2/": {WRONG}'},
    )
    r = http.request("POST", "/auth", json.dumps({**wrong, "serveraddress": REFUSED}).encode())
    assert r.status == 503
    assert r.json()["message"].endswith("connect: connection refused")
    r = http.request("POST", "/auth", b"{not json")
    assert r.status == 400 and r.json()["message"].startswith("invalid JSON")
    assert http.request("POST", "/auth", b"[1, 2]").status == 400


# --- search: GET /images/search ------------------------------------------------------------------
def test_search_query_params(reg_api: ServerThread, http: RawHttp) -> None:
    r = http.request("GET", "/v1.44/images/search?term=127.0.0.1%3A5000%2Fapp")
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == [
        {"name": "team/app", "description": "the app", "star_count": 5,
         "is_official": True, "is_automated": False},
        {"name": "team/app-dev", "description": "", "star_count": 1,
         "is_official": False, "is_automated": True},
    ]  # fmt: skip
    # the docker CLI's form of filters ({"key": {"value": true}}) and the list form
    cli_filters = urllib.parse.quote(
        json.dumps({"stars": {"3": True}, "is-official": {"true": True}})
    )
    r = http.request("GET", f"/images/search?term=app&limit=5&filters={cli_filters}")
    assert [x["name"] for x in r.json()] == ["team/app"]
    r = http.request(
        "GET", "/images/search?term=app&filters=" + urllib.parse.quote('{"is-automated":["1"]}')
    )
    assert [x["name"] for x in r.json()] == ["team/app-dev"]
    assert [x[0:2] for x in engine(reg_api).searches] == [
        ("127.0.0.1:5000/app", 25),  # no limit: dockerd's 25
        ("app", 5),
        ("app", 25),
    ]
    assert engine(reg_api).searches[1][2] == {"stars": ["3"], "is-official": ["true"]}


def test_search_limit_zero_means_the_default(reg_api: ServerThread, http: RawHttp) -> None:
    assert http.request("GET", "/images/search?term=app&limit=0").status == 200
    assert http.request("GET", "/images/search?term=app&limit=1").json()[0]["name"] == "team/app"
    assert [s[1] for s in engine(reg_api).searches] == [25, 1]


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("limit=abc", 400, 'invalid value for limit: "abc"'),
        ("limit=101", 400, "limit 101 is outside the range of [1, 100]"),
        ("limit=-1", 400, "limit -1 is outside the range of [1, 100]"),
        ("filters=%7Bnope", 400, None),
        ("filters=" + urllib.parse.quote('{"color":["red"]}'), 400, "invalid filter 'color'"),
        ("filters=" + urllib.parse.quote('{"stars":["many"]}'), 400, "invalid filter 'stars=many'"),
        (
            "filters=" + urllib.parse.quote('{"is-official":["maybe"]}'),
            400,
            "invalid filter 'is-official=maybe'",
        ),
    ],
)
def test_search_bad_params(http: RawHttp, query: str, status: int, message: str | None) -> None:
    r = http.request("GET", f"/images/search?term=app&{query}")
    assert r.status == status
    if message is not None:
        assert r.json() == {"message": message}


def test_search_unreachable_registry(http: RawHttp) -> None:
    r = http.request("GET", "/images/search?term=" + urllib.parse.quote(f"{REFUSED}/app"))
    assert r.status == 503
    assert r.json()["message"] == (
        f'Get "http://{REFUSED}/v1/search": dial tcp {REFUSED}: connect: connection refused'
    )


def test_registry_routes_reach_the_engine(api: ServerThread) -> None:
    http = RawHttp(api.connect())  # the plain fake: no registry is reachable from it
    for method, path in [
        ("POST", "/images/team/app/push?tag=1"),
        ("POST", "/auth"),
        ("GET", "/images/search?term=x"),
        ("GET", "/distribution/team/app/json"),
    ]:
        r = http.request(method, path, b"{}" if method == "POST" else None)
        assert r.status == 503, path
        assert "no registry is reachable" in r.json()["message"]


# --- the docker CLI renders the streams ----------------------------------------------------------
DOCKER = shutil.which("docker")
needs_docker = pytest.mark.skipif(DOCKER is None, reason="docker CLI not installed")


class Cli:
    def __init__(self, server: ServerThread) -> None:
        self.home = tempfile.mkdtemp(prefix="cove-cli-reg-")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "DOCKER_CONFIG": self.home,
            "DOCKER_HOST": f"unix://{server.path}",
            "DOCKER_CLI_HINTS": "false",
        }

    def __call__(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
        assert DOCKER is not None
        return subprocess.run(
            [DOCKER, *args],
            input=stdin.decode() if stdin is not None else None,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        )


@pytest.fixture
def docker(reg_api: ServerThread) -> Iterator[Cli]:
    cli = Cli(reg_api)
    try:
        yield cli
    finally:
        shutil.rmtree(cli.home, ignore_errors=True)


@needs_docker
def test_docker_pull(reg_api: ServerThread, docker: Cli) -> None:
    r = docker("pull", "busybox:1.36")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == "1.36: Pulling from library/busybox"
    assert f"{LAYER[7:19]}: Pull complete" in out
    assert f"Digest: {MANIFEST}" in out
    assert "Status: Downloaded newer image for busybox:1.36" in out
    assert out[-1] == "docker.io/library/busybox:1.36"
    assert engine(reg_api).creds == [("pull", ANONYMOUS)]


@needs_docker
def test_docker_pull_errors(docker: Cli) -> None:
    r = docker("pull", "missing")
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "Error response from daemon: manifest for missing:latest not found: "
        "manifest unknown: manifest unknown"
    )
    r = docker("pull", f"{REFUSED}/app:1")
    assert r.returncode == 1
    assert r.stderr.strip() == (
        f'Error response from daemon: Get "http://{REFUSED}/v2/": '
        f"dial tcp {REFUSED}: connect: connection refused"
    )
    r = docker("pull", "corrupt:1")
    assert r.returncode == 1
    assert f"filesystem layer verification failed for digest {LAYER}" in r.stderr


@needs_docker
def test_docker_push(reg_api: ServerThread, docker: Cli) -> None:
    r = docker("push", "127.0.0.1:5000/team/app:1.0")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == "The push refers to repository [127.0.0.1:5000/team/app]"
    assert f"{LAYER[7:19]}: Pushed" in out
    assert f"{CONFIG[7:19]}: Layer already exists" in out
    assert f"1.0: digest: {MANIFEST} size: 527" in out
    assert engine(reg_api).calls[-1][:3] == ("push", "127.0.0.1:5000/team/app", "1.0")
    assert engine(reg_api).creds == [("push", ANONYMOUS)]
    r = docker("push", f"{REFUSED}/app:1")
    assert r.returncode == 1
    assert f"dial tcp {REFUSED}: connect: connection refused" in r.stderr
    r = docker("push", "denied/app:1")
    assert r.returncode == 1
    assert "unauthorized: authentication required" in r.stderr
    r = docker("push", "nothere")
    assert r.returncode == 1
    assert "An image does not exist locally with the tag: nothere" in r.stderr


@needs_docker
def test_docker_login_then_pull_sends_the_credentials(reg_api: ServerThread, docker: Cli) -> None:
    r = docker("login", "-u", "alice", "--password-stdin", "127.0.0.1:5000", stdin=b"nope\n")
    assert r.returncode == 1
    assert r.stderr.strip().endswith(
        'Error response from daemon: Get "http://127.0.0.1:5000/v2/": '
        "unauthorized: incorrect username or password"
    )
    r = docker("login", "-u", "alice", "--password-stdin", "127.0.0.1:5000", stdin=b"s3cret\n")
    assert r.returncode == 0, r.stderr
    assert "Login Succeeded" in r.stdout
    login = engine(reg_api).logins[-1]
    assert (login["username"], login["password"]) == ("alice", "s3cret")
    assert login["serveraddress"] == "127.0.0.1:5000"
    assert docker("pull", "127.0.0.1:5000/team/app:1").returncode == 0
    assert docker("pull", "busybox").returncode == 0  # another registry: no credentials
    assert engine(reg_api).creds == [
        ("pull", Credentials("alice", "s3cret")),
        ("pull", ANONYMOUS),
    ]


@needs_docker
def test_docker_search(reg_api: ServerThread, docker: Cli) -> None:
    r = docker("search", "--limit", "5", "--filter", "stars=3", "127.0.0.1:5000/app")
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    assert rows[0] == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
    assert rows[1] == ["team/app", "the", "app", "5", "[OK]"]
    assert len(rows) == 2
    term, limit, filters = engine(reg_api).searches[-1]
    assert (term, limit, filters) == ("127.0.0.1:5000/app", 5, {"stars": ["3"]})
    r = docker("search", "--filter", "color=red", "app")
    assert r.returncode == 1
    assert "invalid filter 'color'" in r.stderr


# --- docker-py -----------------------------------------------------------------------------------
@pytest.fixture
def sdk(reg_api: ServerThread) -> Iterator[Any]:
    docker_sdk = pytest.importorskip("docker")
    client = docker_sdk.APIClient(base_url=f"unix://{reg_api.path}", version="auto", timeout=20)
    try:
        yield client
    finally:
        client.close()


def test_sdk_pull_push_login_search(reg_api: ServerThread, sdk: Any) -> None:
    import docker as docker_sdk  # type: ignore[import-untyped]

    msgs = list(sdk.pull("busybox", tag="1.36", stream=True, decode=True))
    assert msgs[-1] == {"status": "Status: Downloaded newer image for busybox:1.36"}
    with pytest.raises(docker_sdk.errors.NotFound, match="manifest unknown"):
        sdk.pull("missing", tag="latest")
    auth = {"username": "alice", "password": "s3cret"}
    msgs = list(
        sdk.push("127.0.0.1:5000/team/app", tag="1.0", auth_config=auth, stream=True, decode=True)
    )
    assert msgs[-1]["aux"] == {"Tag": "1.0", "Digest": MANIFEST, "Size": 527}
    list(sdk.push("127.0.0.1:5000/team/app", tag="1.0", stream=True, decode=True))  # body "{}"
    assert engine(reg_api).creds[-2:] == [
        ("push", Credentials("alice", "s3cret")),
        ("push", ANONYMOUS),
    ]
    assert sdk.login("alice", "s3cret", registry="127.0.0.1:5000")["Status"] == "Login Succeeded"
    with pytest.raises(docker_sdk.errors.APIError, match="incorrect username or password"):
        sdk.login("alice", "wrong", registry="127.0.0.1:5000", reauth=True)
    found = sdk.search("app", limit=1)
    assert found == [
        {"name": "team/app", "description": "the app", "star_count": 5,
         "is_official": True, "is_automated": False}
    ]  # fmt: skip
    assert engine(reg_api).searches[-1][:2] == ("app", 1)
