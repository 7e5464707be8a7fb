"""The CLI's one-line answers when it cannot reach a daemon (issue 15, items 12 and 14)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import tool

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv"
)


@pytest.fixture
def base() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="cove-clierr-", dir="/tmp")
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def as_nobody(env: dict[str, str], *args: str, cwd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
         tool("cove"), *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=60,
    )  # fmt: skip


def test_socket_the_user_may_not_open_is_one_line(base: str) -> None:
    path = os.path.join(base, "root-only.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(1)
    env = {"PATH": os.environ["PATH"], "HOME": base, "COVE_HOST": f"unix://{path}"}
    try:
        for verb in (["ps"], ["images"], ["run", "--rm", "busybox", "true"], ["events"],
                     ["pull", "busybox"], ["system", "df"], ["network", "ls"]):  # fmt: skip
            r = as_nobody(env, *verb, cwd=base)
            assert r.returncode == 1, (verb, r.stderr)
            assert "Traceback" not in r.stderr, (verb, r.stderr)
            assert r.stderr.endswith(
                "permission denied while trying to connect to the cove daemon socket at "
                f"unix://{path}: dial unix {path}: connect: permission denied\n"
            ), (verb, r.stderr)
        # a build context file this user may not read: one line too
        ctx = os.path.join(base, "ctx")
        os.makedirs(os.path.join(ctx, "secret"))
        os.chmod(os.path.join(ctx, "secret"), 0o700)
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write("FROM busybox\n")
        with open(os.path.join(ctx, "secret", "key"), "w") as f:
            f.write("x")
        r = as_nobody(env, "build", ".", cwd=ctx)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert "permission denied" in r.stderr
    finally:
        listener.close()


def test_other_daemons_socket_is_not_autostarted(base: str) -> None:
    """As root, with no daemon on a COVE_HOST socket: no coved is started for it (it would
    be a second daemon on the system's data root); the answer comes at once."""
    path = os.path.join(base, "nobody-here.sock")
    env = {**os.environ, "COVE_HOST": f"unix://{path}"}
    env.pop("COVE_NO_AUTOSTART", None)
    r = subprocess.run([tool("cove"), "ps"], capture_output=True, text=True, env=env,
                       timeout=10)  # fmt: skip
    assert r.returncode == 1
    assert r.stderr == (
        f"Cannot connect to the cove daemon at unix://{path}. Is the cove daemon running?\n"
    )
    assert not os.path.exists(path)
