"""Real client libraries against an engine: the suites of `make test-clients` (part of
`make test-all`, not of `make test`: they take minutes).

They run only when COVE_CLIENT_SUITES=1, against the suite's own coved, or against another
engine when COVE_CLIENTS_DOCKER_HOST names its socket (Debian's dockerd, for the side-by-side
pass counts; it needs busybox:latest, imported from scripts/mkbusybox.py with CMD ["sh"])."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.daemon_fixture import Daemon

collect_ignore_glob = [] if os.environ.get("COVE_CLIENT_SUITES") == "1" else ["test_*.py"]


@dataclass
class Engine:
    """What a client needs: the socket's URL and an environment pointing at it."""

    name: str  # "coved" or "dockerd"
    host: str
    env: dict[str, str]

    def docker(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        docker = shutil.which("docker")
        assert docker is not None
        return subprocess.run(
            [docker, *args], capture_output=True, text=True, env=self.env, timeout=timeout
        )


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI installed")
    other = os.environ.get("COVE_CLIENTS_DOCKER_HOST")
    if other:
        env = {**os.environ, "DOCKER_HOST": other, "DOCKER_CLI_HINTS": "false"}
        yield Engine("dockerd", other, env)
        return
    d: Daemon = request.getfixturevalue("daemon")
    yield Engine("coved", d.host, {**d.env, "DOCKER_CLI_HINTS": "false"})


@pytest.fixture(scope="session")
def client_env(engine: Engine) -> Iterator[Engine]:
    """The engine with this process's environment pointing at it, as the libraries read
    DOCKER_HOST (and testcontainers its Ryuk switch: no reaper image here) from os.environ."""
    keys = {
        "DOCKER_HOST": engine.host,
        "TESTCONTAINERS_RYUK_DISABLED": "true",
        "DOCKER_CLI_HINTS": "false",
    }
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    try:
        yield engine
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def uniq() -> str:
    """A name prefix of this test's own, so nothing collides with other tests' objects."""
    return "cvk" + uuid.uuid4().hex[:8]


@pytest.fixture
def unused_port() -> int:
    """A host port nothing listens on now (the kernel's pick, released at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
