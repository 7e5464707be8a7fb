"""The cove CLI and the docker CLI side by side against the same daemon.

Both CLIs run each command against the daemon named by ``COVE_COMPAT_HOST`` (a running
dockerd or coved with a ``busybox:latest`` image, e.g. ``unix:///tmp/ref/docker.sock``); the
test passes when exit code, stdout and stderr agree once "docker" is read as "cove" and IDs
are masked.  Containers are named per CLI (``d_x`` / ``c_x``) and removed afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

HOST = os.environ.get("COVE_COMPAT_HOST", "")
DOCKER = shutil.which("docker")
COVE = os.path.join(os.path.dirname(sys.executable), "cove")

pytestmark = [
    pytest.mark.compat,
    pytest.mark.skipif(
        not HOST or DOCKER is None, reason="set COVE_COMPAT_HOST and install docker"
    ),
]

# Each case runs with N_ replaced by d_ (docker) or c_ (cove); cases run in order.
CASES = [
    "run --rm busybox echo hi",
    "run --rm busybox sh -c 'echo out; echo err >&2; exit 3'",
    "run --rm busybox nosuch",
    "run --rm busybox /etc/passwd",
    "run --rm -i busybox cat <<< hello",
    "run --rm -e A=1 -w /tmp -u 1:2 -h hostx busybox sh -c 'echo $A $(pwd) $(id -u) $(hostname)'",
    "run --rm --entrypoint echo busybox a b",
    "run -d --name N_d1 busybox sleep 30",
    "run --name N_d1 busybox true",
    "run --bogus busybox",
    "run -p abc busybox true",
    "run -m abc busybox",
    "run --rm --restart always busybox",
    "run -d -a stdout busybox",
    "run",
    "run -it busybox true",
    "create --name N_c1 busybox echo created",
    "start -a N_c1",
    "start N_c1 nosuch",
    "wait N_c1",
    "rm N_c1 nosuch",
    "rm -f nosuch",
    "exec N_d1 sh -c 'echo in-exec; exit 4'",
    "exec N_d1 nosuch",
    "exec nosuch true",
    "ps --filter name=N_d1 --format '{{.Names}} {{.Command}} {{.State}}'",
    "inspect -f '{{.State.Status}} {{json .Config.Cmd}}' N_d1",
    "inspect nosuch",
    "inspect --type image nosuch",
    "logs nosuch",
    "stop -t 1 N_d1 nosuch",
    "rm -f N_d1",
    "ps --bogus",
    "ps -n",
    "ps extra",
    "logs",
    "tag x",
    "bogus",
    "ps -ax",
    "stop -t abc x",
    "images --format '{{.Repository}}:{{.Tag}}' busybox",
    "images --format '{{.Repository}}:{{.Tag}}' busybox:latest",
    "run --rm busybox /nonexistent",
    "run --rm --network container:nosuch busybox true",
    "network create host",
    "history -q busybox",
    "rmi nosuch",
]


def _norm(text: str, tag: str) -> str:
    text = text.replace("docker", "cove").replace("Docker", "cove").replace(f"{tag}_", "N_")
    text = re.sub(r"\b[0-9a-f]{64}\b", "<ID>", text)
    return re.sub(r"\b[0-9a-f]{12}\b", "<id>", text)


def _run(exe: str, line: str, tag: str) -> tuple[int, str, str]:
    stdin = None
    if " <<< " in line:
        line, stdin = line.split(" <<< ", 1)
        stdin += "\n"
    cmd = line.replace("N_", f"{tag}_")
    env = {**os.environ, "DOCKER_HOST": HOST, "COVE_HOST": HOST, "COVE_NO_AUTOSTART": "1",
           "DOCKER_CLI_HINTS": "false"}  # fmt: skip
    p = subprocess.run(
        ["bash", "-c", f"{exe} {cmd}"], input=stdin, capture_output=True, text=True, env=env,
        timeout=60,
    )  # fmt: skip
    return p.returncode, _norm(p.stdout, tag), _norm(p.stderr, tag)


@pytest.fixture(scope="module", autouse=True)
def cleanup() -> object:
    yield None
    for tag in ("d", "c"):
        for name in ("d1", "c1"):
            subprocess.run([str(DOCKER), "-H", HOST, "rm", "-f", f"{tag}_{name}"],
                           capture_output=True)  # fmt: skip


@pytest.mark.parametrize("line", CASES)
def test_same_as_docker(line: str) -> None:
    assert DOCKER is not None
    expected = _run(DOCKER, line, "d")
    assert _run(COVE, line, "c") == expected
