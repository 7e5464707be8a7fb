"""RUN --mount (cache, bind, tmpfs, secret, ssh) and RUN --network, built for real."""

from __future__ import annotations

import glob
import hashlib
import io
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from typing import Any

import pytest

from tests.daemon_fixture import Daemon, tool
from tests.integration.build.conftest import build, run

Ctx = Callable[[dict[str, Any]], str]


def test_cache_mount_kept_between_builds_and_not_in_image(bd: Daemon, ctx: Ctx) -> None:
    df = (
        "FROM busybox\n"
        "COPY src /src\n"
        "RUN --mount=type=cache,target=/cache,id=t-cache "
        "echo seen before: $(cat /cache/count 2>/dev/null || echo none); "
        "cat /src >> /cache/count; ls /cache > /listing\n"
    )
    d = ctx({"Dockerfile": df, "src": "one\n"})
    first = build(bd, d, "-t", "b-cachemount")
    assert first.returncode == 0, first.stderr
    assert "seen before: none" in first.stdout
    with open(os.path.join(d, "src"), "w") as f:
        f.write("two\n")  # only the source changes: the RUN runs again, its cache is there
    second = build(bd, d, "-t", "b-cachemount")
    assert second.returncode == 0, second.stderr
    assert "seen before: one" in second.stdout
    # the mount's content is not in the image, only what the step wrote elsewhere
    assert run(bd, "b-cachemount", "sh", "-c", "ls -A /cache 2>/dev/null; true") == ""
    assert run(bd, "b-cachemount", "cat", "/listing") == "count\n"
    # system df counts it; cove builder prune removes it (and reports the space)
    df = bd.cove("system", "df", "--format", "{{.Type}} {{.TotalCount}}", check=True).stdout
    assert "Build Cache 0" not in df and "Build Cache" in df, df
    r = bd.cove("builder", "prune", "-f", check=True)
    assert "Total reclaimed space" in r.stdout
    assert not glob.glob(os.path.join(bd.data_root, "build", "cache-mounts", "*", "data"))


def test_secret_never_in_history_layers_or_cache(bd: Daemon, ctx: Ctx) -> None:
    value = "s3cr3t-value-4711"
    digest = hashlib.sha256(value.encode()).hexdigest()
    df = (
        "FROM busybox\n"
        "RUN --mount=type=secret,id=tok,required=true "
        "echo file=$(sha256sum /run/secrets/tok | cut -c1-64)\n"
        'RUN --mount=type=secret,id=tok,env=TOKEN echo env=$(printf %s "$TOKEN" | sha256sum)\n'
    )
    d = ctx({"Dockerfile": df})
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        f.write(value)
    try:
        r = build(bd, d, "-t", "b-secret", "--secret", f"id=tok,src={f.name}")
    finally:
        os.unlink(f.name)
    assert r.returncode == 0, r.stderr
    assert f"file={digest}" in r.stdout and f"env={digest}" in r.stdout
    hist = bd.cove("history", "--no-trunc", "--format", "{{.CreatedBy}}", "b-secret", check=True)
    assert value not in hist.stdout
    saved = bd.cove("save", "b-secret", "-o", os.path.join(d, "img.tar"), check=True)
    assert saved.returncode == 0
    with open(os.path.join(d, "img.tar"), "rb") as fh:
        assert value.encode() not in fh.read()
    with open(os.path.join(bd.data_root, "build", "cache.json"), "rb") as fh:
        assert value.encode() not in fh.read()
    assert run(bd, "b-secret", "sh", "-c", "ls -A /run/secrets 2>/dev/null; true") == ""
    # without the secret: a required one fails with words that say how to give it
    r = build(bd, d, "-t", "b-secret-missing", "--no-cache")
    assert r.returncode != 0
    assert "secret tok not found" in r.stderr and "--secret id=tok" in r.stderr


def test_bind_from_stage_and_context_tmpfs(bd: Daemon, ctx: Ctx) -> None:
    df = (
        "FROM busybox AS tools\n"
        "RUN mkdir /out && echo from-stage > /out/msg\n"
        "FROM busybox\n"
        "RUN --mount=type=bind,from=tools,source=/out,target=/mnt cat /mnt/msg > /got\n"
        "RUN --mount=type=bind,target=/ctx cat /ctx/data > /ctxgot\n"
        "RUN --mount=type=bind,target=/ctx,rw echo scribble > /ctx/data && cat /ctx/data\n"
        "RUN --mount=type=tmpfs,target=/scratch,size=1m "
        "grep ' /scratch tmpfs' /proc/mounts > /dev/null && echo tmpfs-ok > /scratch/x "
        "&& cat /scratch/x\n"
    )
    d = ctx({"Dockerfile": df, "data": "context-data\n"})
    r = build(bd, d, "-t", "b-bind")
    assert r.returncode == 0, r.stderr + r.stdout
    assert "tmpfs-ok" in r.stdout and "scribble" in r.stdout
    assert run(bd, "b-bind", "cat", "/got", "/ctxgot") == "from-stage\ncontext-data\n"
    with open(os.path.join(d, "data")) as f:
        assert f.read() == "context-data\n"  # rw changes are discarded
    assert run(bd, "b-bind", "sh", "-c", "ls -A /scratch /mnt 2>/dev/null; true") == ""


def test_run_network_none(bd: Daemon, ctx: Ctx) -> None:
    df = (
        "FROM busybox\n"
        "RUN --network=none cat /proc/net/dev | grep -c : > /ifaces; cat /ifaces\n"
        "RUN --network=nonsense true\n"
    )
    d = ctx({"Dockerfile": df})
    r = build(bd, d)
    assert "unsupported network mode 'nonsense'" in r.stderr
    lines = r.stdout.split("Step 3/3")[0]
    # only the loopback interface in a step without a network
    with_ifaces = [ln for ln in lines.splitlines() if ln.strip().isdigit()]
    assert with_ifaces == ["1"], lines


def test_ssh_agent_forwarded(bd: Daemon, ctx: Ctx) -> None:
    sock_dir = tempfile.mkdtemp(prefix="cove-ssh-")
    path = os.path.join(sock_dir, "agent.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    try:
        df = (
            "FROM busybox\n"
            "RUN --mount=type=ssh test -S $SSH_AUTH_SOCK && echo agent-at=$SSH_AUTH_SOCK\n"
        )
        d = ctx({"Dockerfile": df})
        env = {**bd.env, "SSH_AUTH_SOCK": path}
        r = subprocess.run(
            [tool("cove"), "build", "--ssh", "default", d], env=env, capture_output=True,
            text=True, timeout=180, check=False,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert "agent-at=/run/buildkit/ssh_agent.0" in r.stdout
    finally:
        srv.close()
        os.unlink(path)
        os.rmdir(sock_dir)


def test_mount_spec_errors(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nRUN --mount=type=bogus,target=/x true\n"})
    r = build(bd, d)
    assert r.returncode != 0 and "unsupported mount type 'bogus'" in r.stderr
    d = ctx({"Dockerfile": "FROM busybox\nRUN --mount=type=cache,color=red,target=/x true\n"})
    r = build(bd, d)
    assert r.returncode != 0 and "unexpected key 'color'" in r.stderr


@pytest.mark.skipif(not shutil.which("docker"), reason="docker CLI not installed")
def test_docker_cli_classic_builder_gets_mounts_but_no_secrets(bd: Daemon, ctx: Ctx) -> None:
    env = {**bd.env, "DOCKER_BUILDKIT": "0"}
    df = (
        "FROM busybox AS tools\nRUN echo tool > /tool\n"
        "FROM busybox\n"
        "RUN --mount=type=cache,target=/c,id=t-docker-cli echo n >> /c/n && wc -l < /c/n\n"
        "RUN --mount=type=bind,from=tools,target=/t cat /t/tool\n"
    )
    d = ctx({"Dockerfile": df})
    for _ in range(2):
        r = subprocess.run(["docker", "build", "--no-cache", d], capture_output=True,
                           text=True, env=env, timeout=180)  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert "tool" in r.stdout
    assert "\n2\n" in r.stdout  # the second build found the first one's cache
    secret_df = "FROM busybox\nRUN --mount=type=secret,id=tok,required cat /run/secrets/tok\n"
    d = ctx({"Dockerfile": secret_df})
    r = subprocess.run(["docker", "build", d], capture_output=True, text=True, env=env,
                       timeout=180)  # fmt: skip
    assert r.returncode != 0
    assert "classic builder API cannot carry secrets" in r.stderr


def test_docker_py_secret_missing_warns_for_an_optional_one(bd: Daemon) -> None:
    docker = pytest.importorskip("docker")
    script = b"FROM busybox\nRUN --mount=type=secret,id=opt ls /run/secrets/opt || echo absent\n"
    client = docker.APIClient(base_url=bd.host)
    try:
        lines = [m.get("stream") or "" for m in client.build(fileobj=io.BytesIO(script),
                 decode=True, nocache=True)]  # fmt: skip
    finally:
        client.close()
    text = "".join(lines)
    assert "[Warning] secret 'opt' was not given" in text and "absent" in text


def test_locked_cache_takes_turns_and_seeds(bd: Daemon, ctx: Ctx) -> None:
    step = (
        "RUN --mount=type=cache,id=t-locked,sharing=locked,target=/c "
        "read a _ < /proc/uptime; sleep 1; read b _ < /proc/uptime; echo $a $b > /{n}\n"
    )
    df = (
        "FROM busybox AS one\n" + step.format(n="one") +
        "FROM busybox AS two\n" + step.format(n="two") +
        "FROM busybox AS seeded\n"
        "RUN --mount=type=cache,id=t-seeded,target=/c,from=busybox,source=/etc "
        "test -f /c/passwd && echo seeded-ok\n"
        "RUN --mount=type=bind,from=busybox,source=/bin,target=/b test -x /b/sh && echo image-ok\n"
        "FROM busybox\nCOPY --from=one /one /one\nCOPY --from=two /two /two\n"
        "COPY --from=seeded /bin/sh /seeded-sh\n"
    )  # fmt: skip
    r = build(bd, ctx({"Dockerfile": df}), "-t", "b-locked", "--no-cache")
    assert r.returncode == 0, r.stderr
    assert "seeded-ok" in r.stdout and "image-ok" in r.stdout
    one = [float(x) for x in run(bd, "b-locked", "cat", "/one").split()]
    two = [float(x) for x in run(bd, "b-locked", "cat", "/two").split()]
    # an ordering fact: with the cache locked, one step ended before the other began
    assert one[1] <= two[0] or two[1] <= one[0], (one, two)


def test_docker_py_prune_builds(bd: Daemon, ctx: Ctx) -> None:
    docker = pytest.importorskip("docker")
    df = "FROM busybox\nRUN --mount=type=cache,id=t-py-prune,target=/c echo x > /c/x\n"
    assert build(bd, ctx({"Dockerfile": df}), "--no-cache").returncode == 0
    client = docker.APIClient(base_url=bd.host)
    try:
        answer = client.prune_builds()
    finally:
        client.close()
    assert "t-py-prune" in (answer.get("CachesDeleted") or [])
    assert answer["SpaceReclaimed"] > 0
