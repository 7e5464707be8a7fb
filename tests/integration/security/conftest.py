"""The syscall probe (probe.c, built static here) and a helper that runs it in a container.

The probe is copied in with ``cove cp`` into a created container, as a user would, then
the container is started attached; its lines ``name RESULT`` come back as a dict.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator

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


_libc = ctypes.CDLL(None, use_errno=True)
_SYS_ADD_KEY, _SYS_KEYCTL = 248, 250  # x86_64
_KEY_SPEC_USER_KEYRING = -4
_KEYCTL_SETPERM, _KEYCTL_UNLINK = 5, 9


@contextlib.contextmanager
def host_key(payload: bytes = b"host-secret") -> Iterator[str]:
    """A key in the host root's user keyring, readable by anything of root's (not only by
    processes possessing it), removed afterwards; yields its description.  x86_64 numbers."""
    if os.uname().machine != "x86_64":
        pytest.skip("syscall numbers of x86_64")
    desc = f"cove-test-{secrets.token_hex(4)}".encode()
    key = _libc.syscall(_SYS_ADD_KEY, b"user", desc, payload, len(payload), _KEY_SPEC_USER_KEYRING)
    if key < 0:
        pytest.skip(f"cannot add a key on the host: errno {ctypes.get_errno()}")
    try:
        _libc.syscall(_SYS_KEYCTL, _KEYCTL_SETPERM, key, 0x3F3F0000)
        yield desc.decode()
    finally:
        _libc.syscall(_SYS_KEYCTL, _KEYCTL_UNLINK, key, _KEY_SPEC_USER_KEYRING)
