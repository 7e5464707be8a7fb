"""The syscall probe (probe.c, built static here) and a helper that runs it in a container.

The probe is copied in with ``cove cp`` into a created container, as a user would, then
the container is started attached; its lines ``name RESULT`` come back as a dict.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

import pytest

from tests.daemon_fixture import Daemon

HERE = os.path.dirname(os.path.abspath(__file__))
Probe = Callable[..., dict[str, str]]


@pytest.fixture(scope="session")
def probe_binary(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to build the syscall probe (make deps installs it)")
    out = str(tmp_path_factory.mktemp("probe") / "probe")
    r = subprocess.run(
        ["gcc", "-static", "-O1", "-pthread", "-o", out, os.path.join(HERE, "probe.c")],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot build a static probe (libc6-dev missing?): {r.stderr[-300:]}")
    return out


def parse(out: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def run_probe(daemon: Daemon, binary: str, flags: list[str], args: list[str]) -> dict[str, str]:
    """Create a container with ``flags``, copy the probe in, start it attached."""
    cid = daemon.cove(
        "create", "--network", "none", *flags, "busybox", "/probe", *args, check=True
    ).stdout.strip()
    try:
        daemon.cove("cp", binary, f"{cid}:/probe", check=True)
        r = daemon.cove("start", "-a", cid)
        assert r.returncode == 0, r.stderr
        return parse(r.stdout)
    finally:
        daemon.cove("rm", "-f", cid)


@pytest.fixture
def probe(daemon: Daemon, probe_binary: str) -> Probe:
    def go(*flags: str, checks: tuple[str, ...] = ("all",)) -> dict[str, str]:
        return run_probe(daemon, probe_binary, list(flags), list(checks))

    return go
