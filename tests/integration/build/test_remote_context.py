"""Remote build contexts (dockerd's ``remote=``): a git repository served by ``git daemon``
and by a plain HTTP server on 127.0.0.1 (git's dumb protocol), and a tarball over HTTP;
from the cove CLI and from docker-py."""

from __future__ import annotations

import functools
import http.server
import io
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import Daemon
from tests.integration.build.conftest import build, run


def _git(*args: str, cwd: str) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": cwd}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, int, int]]:
    """(root, http port, git daemon port): repo.git (branch main: /app/Dockerfile and a
    'release' branch) and ctx.tar.gz, served from root."""
    if not shutil.which("git"):
        pytest.skip("git is needed (make deps)")
    root = tempfile.mkdtemp(prefix="cove-remote-")
    work = os.path.join(root, "work")
    os.makedirs(os.path.join(work, "app"))
    with open(os.path.join(work, "app", "Dockerfile"), "w") as f:
        f.write("FROM busybox\nCOPY msg /msg\n")
    with open(os.path.join(work, "app", "msg"), "w") as f:
        f.write("from main\n")
    _git("init", "-q", "-b", "main", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "add", ".", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one", cwd=work)
    _git("checkout", "-q", "-b", "release", cwd=work)
    with open(os.path.join(work, "app", "msg"), "w") as f:
        f.write("from release\n")
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "two", cwd=work)
    _git("checkout", "-q", "main", cwd=work)
    _git("clone", "-q", "--bare", work, os.path.join(root, "repo.git"), cwd=root)
    _git("update-server-info", cwd=os.path.join(root, "repo.git"))
    with tarfile.open(os.path.join(root, "ctx.tar.gz"), "w:gz") as tf:
        for name, data in (("Dockerfile", b"FROM busybox\nCOPY t /t\n"), ("t", b"tarball\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    gport = _free_port()
    gd = subprocess.Popen(
        ["git", "daemon", "--export-all", "--reuseaddr", f"--base-path={root}",
         "--listen=127.0.0.1", f"--port={gport}", root],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", gport)) == 0:
                break
        time.sleep(0.05)
    try:
        yield root, int(srv.server_address[1]), gport
    finally:
        gd.terminate()
        gd.wait(10)
        srv.shutdown()
        srv.server_close()
        shutil.rmtree(root, ignore_errors=True)


def test_git_context_over_git_daemon_and_http(bd: Daemon, served: tuple[str, int, int]) -> None:
    _, hport, gport = served
    r = build(bd, f"git://127.0.0.1:{gport}/repo.git#main:app", "-t", "b-git")
    assert r.returncode == 0, r.stderr
    assert run(bd, "b-git", "cat", "/msg") == "from main\n"
    r = build(bd, f"http://127.0.0.1:{hport}/repo.git#release:app", "-t", "b-git-http")
    assert r.returncode == 0, r.stderr
    assert run(bd, "b-git-http", "cat", "/msg") == "from release\n"
    r = build(bd, f"git://127.0.0.1:{gport}/repo.git#nosuch:app")
    assert r.returncode != 0 and "nosuch" in r.stderr


def test_tarball_context_cli_and_docker_py(bd: Daemon, served: tuple[str, int, int]) -> None:
    _, hport, _ = served
    url = f"http://127.0.0.1:{hport}/ctx.tar.gz"
    r = build(bd, url, "-t", "b-tarball")
    assert r.returncode == 0, r.stderr
    assert run(bd, "b-tarball", "cat", "/t") == "tarball\n"
    docker = pytest.importorskip("docker")
    client = docker.APIClient(base_url=bd.host)
    try:
        out = list(client.build(path=url, tag="b-tarball-py", decode=True))
    finally:
        client.close()
    assert any("Successfully tagged b-tarball-py" in str(m.get("stream")) for m in out), out
    assert run(bd, "b-tarball-py", "cat", "/t") == "tarball\n"


@pytest.mark.skipif(not shutil.which("docker"), reason="docker CLI not installed")
def test_tarball_context_from_the_docker_cli(bd: Daemon, served: tuple[str, int, int]) -> None:
    _, hport, _ = served
    env = {**bd.env, "DOCKER_BUILDKIT": "0"}
    url = f"http://127.0.0.1:{hport}/ctx.tar.gz"
    r = subprocess.run(["docker", "build", "-t", "b-tarball-cli", url], capture_output=True,
                       text=True, env=env, timeout=180)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert run(bd, "b-tarball-cli", "cat", "/t") == "tarball\n"
