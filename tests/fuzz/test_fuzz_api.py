"""Property-based fuzzing of coved from Docker's own Engine API description (issue 14, item 4).

schemathesis reads ``swagger-v1.44.yaml`` (the Engine API version coved advertises, from moby
v25.0.0) and generates requests for every operation, valid and invalid alike; each goes to a
coved of this module's own over its unix socket.  What must hold for every one of them:
no 5xx, no Python traceback in the body, and ``/_ping`` still answers afterwards.

Left out, and why:
- streams that only end when their container does or never (attach, attach/ws, events, logs
  and stats which follow by default, wait, session, exec start): a generated request would
  hang the run, not test input handling;
- operations that reach beyond this machine (pull and import from a URL, push, search, auth,
  distribution inspect, build with a remote context, plugin pull/push/upgrade, swarm join):
  tests never send packets off the machine;
- network connect/disconnect, and network create as generated: a generated subnet or macvlan
  parent would change the host's own routes and links.  ``test_network_create`` fuzzes
  create with the host kept safe instead: bridge driver, internal, no IPAM subnets, each
  network removed again;
- swarm, nodes, services, tasks, secrets, configs and plugins: coved has no cluster mode and
  answers them with dockerd's fixed replies for a node outside a swarm.

``COVE_FUZZ_EXAMPLES`` sets the examples per operation (``make test``: a bounded slice;
``make fuzz``, part of ``make test-all``: a longer run).  The totals (requests, 2xx-3xx, 4xx,
5xx) go to the terminal and to ``$COVE_FUZZ_TOTALS`` (default /tmp/cove-fuzz-totals.json).
"""

from __future__ import annotations

import collections
import json
import os
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")
docker_transport = pytest.importorskip("docker.transport")

from tests.daemon_fixture import Daemon, running_daemon  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "swagger-v1.44.yaml")
EXAMPLES = int(os.environ.get("COVE_FUZZ_EXAMPLES", "8"))
# make test's short slice replays the same requests every run, so a landing is judged on a
# known set; the long run (make fuzz) explores anew each time
DERANDOMIZE = "COVE_FUZZ_EXAMPLES" not in os.environ
TOTALS_FILE = os.environ.get("COVE_FUZZ_TOTALS", "/tmp/cove-fuzz-totals.json")

UNBOUNDED = (
    r"^/containers/\{id\}/(attach|attach/ws|logs|stats|wait)$",
    r"^/events$",
    r"^/session$",
    r"^/exec/\{id\}/start$",
)
OFF_MACHINE = (
    r"^/images/create$",
    r"^/images/\{name\}/push$",
    r"^/images/search$",
    r"^/auth$",
    r"^/distribution/",
    r"^/build$",
)
HOST_STATE = (r"^/networks/create$", r"^/networks/\{id\}/(connect|disconnect)$")
NO_CLUSTER = (r"^/(swarm|nodes|services|tasks|secrets|configs|plugins)(/|$)",)

# tar bodies (load, archive PUT) go out as the raw bytes generated for them
schemathesis.serializer.alias("application/x-tar", "application/octet-stream")
schema = schemathesis.openapi.from_path(SPEC).exclude(
    path_regex="|".join(UNBOUNDED + OFF_MACHINE + HOST_STATE + NO_CLUSTER)
)

TOTALS: collections.Counter[str] = collections.Counter()
BY_OPERATION: collections.Counter[str] = collections.Counter()
MESSAGES: collections.Counter[str] = collections.Counter()  # the 4xx texts, for reading
FAILURES: list[str] = []


class _Session(requests.Session):
    """requests over coved's unix socket (docker-py's adapter), bounded by a timeout."""

    def __init__(self, socket_path: str) -> None:
        super().__init__()
        # every http:// URL goes to the socket: no request of this session can leave it
        self.mount("http://", docker_transport.UnixHTTPAdapter("http+unix://" + socket_path))

    def request(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        # a stop or restart waits for its container: longer than schemathesis's default
        kwargs["timeout"] = max(kwargs.get("timeout") or 0, 60)
        return super().request(*args, **kwargs)


@pytest.fixture(scope="module")
def fuzz_daemon() -> Iterator[Daemon]:
    if os.geteuid() != 0:
        pytest.skip("the fuzz stage runs a coved: needs root")
    with running_daemon() as d:
        yield d
    TOTALS["failures"] = len(FAILURES)
    with open(TOTALS_FILE, "w") as f:
        json.dump(
            {
                **TOTALS,
                "examples_per_operation": EXAMPLES,
                "first": FAILURES[:20],
                "by_operation": dict(sorted(BY_OPERATION.items())),
                "top_4xx_messages": dict(MESSAGES.most_common(60)),
            },
            f,
            indent=1,
        )
    print(f"\nfuzz totals: {dict(TOTALS)}")


@pytest.fixture(scope="module")
def session(fuzz_daemon: Daemon) -> Iterator[_Session]:
    s = _Session(fuzz_daemon.socket)
    # a running container for the generated requests to aim at (see _aim)
    r = s.post(
        f"{BASE}/containers/create?name={TARGET}",
        # stops at once (its shell is PID 1 and traps TERM), so stop and restart are quick
        json={
            "Image": "busybox:latest",
            "Cmd": ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
            "StopTimeout": 2,
            # back after a generated kill, so prune does not take it away
            "HostConfig": {"RestartPolicy": {"Name": "always"}},
        },
    )
    assert r.status_code == 201, r.text
    assert s.post(f"{BASE}/containers/{TARGET}/start").status_code == 204
    yield s
    s.close()


TARGET = "fuzz-target"


def _aim(case: Any) -> None:
    """Half of the generated requests name things that exist (the running container, the
    busybox image, the local volume driver, the default network), so the fuzzing gets past
    "No such container" into the handlers' real work; which half is decided by the case's
    own content, so a failing example replays the same."""
    if zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode()) % 2:
        return
    body = case.body
    if isinstance(body, dict):
        if case.path == "/containers/create":
            body["Image"] = "busybox:latest"
        elif case.path == "/volumes/create":
            body["Driver"] = "local"
    params = case.path_parameters
    if not params or case.method == "DELETE" or case.path.endswith("/rename"):
        return
    if "id" in params and case.path.startswith("/containers/"):
        params["id"] = TARGET
        # a stop or restart with a signal PID 1 ignores (the shell traps only TERM) waits
        # its whole timeout, as dockerd's would: keep that wait short, not the request's
        if isinstance(case.query, dict) and isinstance(case.query.get("t"), int):
            case.query["t"] = max(-1, min(case.query["t"], 2))
    elif "name" in params and case.path.startswith("/images/"):
        params["name"] = "busybox:latest"
    elif "id" in params and case.path.startswith("/networks/"):
        params["id"] = "bridge"


BASE = "http://localhost/v1.44"


def _classify(status: int) -> str:
    if status >= 500:
        return "5xx"
    if status >= 400:
        return "4xx"
    return "2xx-3xx"


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)
def test_no_5xx_no_traceback(case: Any, session: _Session, fuzz_daemon: Daemon) -> None:
    _aim(case)
    try:
        response = case.call(base_url=BASE, session=session)
    except requests.exceptions.ConnectionError as exc:
        # a request that cannot even be sent (a header that http.client refuses) says
        # nothing about coved; one that coved dropped must leave it serving
        TOTALS["not sent"] += 1
        assert fuzz_daemon.ping(), f"coved stopped answering after {case.method} {case.path}"
        pytest.skip(f"not sent: {exc}")
    TOTALS["requests"] += 1
    TOTALS[_classify(response.status_code)] += 1
    BY_OPERATION[f"{case.method} {case.path} {response.status_code}"] += 1
    if 400 <= response.status_code < 500 and response.content.startswith(b"{"):
        text = str(response.json().get("message", ""))
        MESSAGES[f"{case.method} {case.path}: {text[:90]}"] += 1
    where = f"{case.method} {response.request.url} -> {response.status_code}"
    if response.status_code >= 500 or b"Traceback" in response.content:
        FAILURES.append(f"{where}: {response.content[:300]!r}")
    assert response.status_code < 500, f"{where}: {response.content[:500]!r}"
    assert b"Traceback" not in response.content, where
    assert fuzz_daemon.ping(), f"coved stopped answering after {where}"


networks = schemathesis.openapi.from_path(SPEC).include(path="/networks/create", method="POST")


def _host_safe(body: Any) -> None:
    """A generated network stays on this host's own terms: an internal bridge whose subnet
    coved picks from its pools (never a generated one that could shadow a real route),
    no parent interface, no bridge name of the host's."""
    if not isinstance(body, dict):
        return
    body["Driver"] = "bridge"
    body["Internal"] = True
    body.pop("IPAM", None)
    body.pop("ConfigFrom", None)
    body["ConfigOnly"] = False
    opts = body.get("Options")
    if isinstance(opts, dict):
        for key in list(opts):
            if "parent" in key or key.endswith("bridge.name"):
                del opts[key]


@networks.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES * 4,
    deadline=None,
    database=None,
    derandomize=DERANDOMIZE,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)
def test_network_create(case: Any, session: _Session, fuzz_daemon: Daemon) -> None:
    _host_safe(case.body)
    response = case.call(base_url=BASE, session=session)
    TOTALS["requests"] += 1
    TOTALS[_classify(response.status_code)] += 1
    BY_OPERATION[f"{case.method} {case.path} {response.status_code}"] += 1
    where = f"{case.method} {response.request.url} {case.body!r:.300} -> {response.status_code}"
    if response.status_code == 201:
        session.delete(f"{BASE}/networks/{response.json()['Id']}")
    if response.status_code >= 500:
        FAILURES.append(f"{where}: {response.content[:300]!r}")
    assert response.status_code < 500, f"{where}: {response.content[:500]!r}"
    assert b"Traceback" not in response.content, where
    assert fuzz_daemon.ping(), f"coved stopped answering after {where}"
