"""Today's Dockerfile syntax through the clients that only speak the classic build API: the
docker CLI with ``DOCKER_BUILDKIT=0`` and docker-py.  Heredocs, COPY flags and platform
ARGs live in the Dockerfile's text, so they travel in ``POST /build`` unchanged."""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import pytest

from cove.build import platforms
from tests.compat.test_parity import DOCKER
from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.compat

DOCKERFILE = """# syntax=docker/dockerfile:1.7
FROM busybox
ARG TARGETARCH
COPY --chmod=u+x,go=r f /f
RUN <<EOF
echo "arch=$TARGETARCH" > /arch
EOF
RUN <<EOF
#!/usr/bin/awk -f
BEGIN { print "awk ran" > "/awk" }
EOF
COPY <<-EOT /conf
\tk=v
\tEOT
CMD ["sh", "-c", "stat -c %a /f && cat /arch /awk /conf"]
"""


@pytest.fixture
def context() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="cove-compat-build-") as d:
        with open(os.path.join(d, "Dockerfile"), "w") as f:
            f.write(DOCKERFILE)
        with open(os.path.join(d, "f"), "w") as f:
            f.write("data\n")
        os.chmod(os.path.join(d, "f"), 0o644)
        yield d


def _want() -> str:
    return f"744\narch={platforms.host()[1]}\nawk ran\nk=v\n"


def test_docker_cli_classic_builder(daemon: Daemon, context: str) -> None:
    if DOCKER is None:
        pytest.skip("no docker CLI installed")
    tag = f"compat-syntax:{uuid.uuid4().hex[:6]}"
    env = {**daemon.env, "DOCKER_BUILDKIT": "0", "DOCKER_CLI_HINTS": "false"}
    r = subprocess.run([DOCKER, "build", "-t", tag, context], capture_output=True, text=True,
                       env=env, timeout=180)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        assert daemon.cove("run", "--rm", tag).stdout == _want()
        foreign = "linux/s390x" if platforms.host()[1] != "s390x" else "linux/amd64"
        if not platforms.emulated(platforms.parse(foreign)[1]):
            r = subprocess.run([DOCKER, "build", "--platform", foreign, context],
                               capture_output=True, text=True, env=env, timeout=180)  # fmt: skip
            assert r.returncode != 0
            assert f"cannot build for platform '{foreign}'" in r.stderr
    finally:
        daemon.cove("rmi", tag)


def test_docker_sdk_build(daemon: Daemon, context: str) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.host)
    tag = f"compat-syntax-sdk:{uuid.uuid4().hex[:6]}"
    try:
        client.images.build(path=context, tag=tag, rm=True)  # no intermediate containers left
        assert client.containers.run(tag, remove=True).decode() == _want()
        # build checks reach classic clients as warnings, or as the error with error=true
        with open(os.path.join(context, "Dockerfile"), "w") as f:
            f.write("# check=error=true\nFROM busybox\nCMD echo shell form\n")
        with pytest.raises(docker.errors.BuildError, match="1 problem found by the build checks"):
            client.images.build(path=context, rm=True, forcerm=True)
    finally:
        client.images.remove(tag)
        client.close()
