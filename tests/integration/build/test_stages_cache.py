"""Multi-stage builds, the build cache, the build options, stdin contexts, and the real
clients (docker's classic builder CLI and docker-py) against coved."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from typing import Any

import pytest

from tests.daemon_fixture import Daemon
from tests.integration.build.conftest import build, inspect, run

Ctx = Callable[[dict[str, Any]], str]

MULTI = """FROM busybox AS builder
RUN echo compiled > /artifact
FROM busybox AS other
RUN echo other > /other
FROM busybox
COPY --from=builder /artifact /a
COPY --from=1 /other /o
COPY --from=busybox /bin/true /t
CMD cat /a /o
"""


def test_multi_stage_and_target(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": MULTI})
    r = build(bd, d, "-t", "b-multi")
    assert r.returncode == 0, r.stderr
    assert run(bd, "b-multi") == "compiled\nother\n"
    r = build(bd, d, "-t", "b-multi-target", "--target", "other")
    assert r.returncode == 0 and "Step 2/2" in r.stdout, r.stdout  # builder is not needed
    assert "Skipping stages the target does not need: builder" in r.stdout
    assert run(bd, "b-multi-target", "cat", "/other") == "other\n"
    r = build(bd, d, "--target", "nope")
    assert r.returncode != 0 and "failed to reach build target nope" in r.stderr


def test_cache_hits_and_invalidation(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({
        "Dockerfile": "FROM busybox\nARG X=1\nCOPY f /f\nRUN cat /f > /g\nCMD cat /g\n",
        "f": "one\n",
    })  # fmt: skip
    first = build(bd, d, "-t", "b-cache")
    assert first.returncode == 0 and "Using cache" not in first.stdout
    again = build(bd, d, "-t", "b-cache")
    assert again.stdout.count(" ---> Using cache") == 4
    built = again.stdout.split("Successfully built ")[1][:12]
    assert inspect(bd, "b-cache")["Id"][7:19] == built
    # new content of a copied file invalidates that step and those after it
    with open(os.path.join(d, "f"), "w") as f:
        f.write("two\n")
    changed = build(bd, d, "-t", "b-cache")
    assert changed.stdout.count(" ---> Using cache") == 1
    assert run(bd, "b-cache") == "two\n"
    # a different build arg changes what RUN sees: a miss from there
    other = build(bd, d, "-t", "b-cache", "--build-arg", "X=2")
    assert other.stdout.count(" ---> Using cache") == 2
    nocache = build(bd, d, "-t", "b-cache", "--no-cache")
    assert "Using cache" not in nocache.stdout


def test_metadata_only_change_of_a_file_invalidates(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nCOPY f /f\n", "f": "x"})
    assert build(bd, d).returncode == 0
    os.chmod(os.path.join(d, "f"), 0o700)
    assert "Using cache" not in build(bd, d).stdout


def test_quiet_iidfile_and_network_none(bd: Daemon, ctx: Ctx, tmp_path: Any) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nRUN ls /sys/class/net > /nets\nCMD cat /nets\n"})
    iid = os.path.join(str(tmp_path), "iid")
    r = build(bd, d, "-q", "--iidfile", iid, "--network", "none", "-t", "b-quiet")
    assert r.returncode == 0
    assert r.stdout.startswith("sha256:") and len(r.stdout.strip()) == 71
    with open(iid) as f:
        assert f.read() == r.stdout.strip()
    assert run(bd, "b-quiet") == "lo\n"


def test_context_and_dockerfile_from_stdin(bd: Daemon, ctx: Ctx) -> None:
    r = bd.cove("build", "-t", "b-stdin-df", "-", input=b"FROM busybox\nCMD echo piped\n")
    assert r.returncode == 0, r.stderr
    assert run(bd, "b-stdin-df") == "piped\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in (("Dockerfile", b"FROM busybox\nCOPY x /x\nCMD cat /x\n"),
                           ("x", b"from tar\n")):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    r = subprocess.run(
        [os.path.join(os.path.dirname(__import__("sys").executable), "cove"), "build", "-t",
         "b-stdin-tar", "-"], input=buf.getvalue(), capture_output=True, env=bd.env, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert run(bd, "b-stdin-tar") == "from tar\n"
    d = ctx({"x": "ctx file\n"})
    r = bd.cove(
        "build", "-t", "b-stdin-f", "-f", "-", d, input=b"FROM busybox\nCOPY x /x\nCMD cat /x\n"
    )
    assert r.returncode == 0, r.stderr
    assert run(bd, "b-stdin-f") == "ctx file\n"


def test_layer_limit_is_checked_before_tagging(bd: Daemon, ctx: Ctx) -> None:
    lines = ["FROM busybox"] + [f"COPY f /f{i}" for i in range(127)]
    d = ctx({"Dockerfile": "\n".join(lines) + "\n", "f": "x"})
    r = build(bd, d, "-t", "b-deep")
    assert r.returncode != 0 and "max depth exceeded" in r.stderr
    assert bd.cove("image", "inspect", "b-deep").returncode != 0


@pytest.mark.skipif(not shutil.which("docker"), reason="docker CLI not installed")
def test_docker_cli_classic_builder(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nCOPY f /f\nRUN cat /f\nCMD cat /f\n", "f": "dockercli\n"})
    env = {**bd.env, "DOCKER_BUILDKIT": "0"}
    r = subprocess.run(["docker", "build", "-t", "b-docker:cli", d], capture_output=True,
                       text=True, env=env, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Step 3/4 : RUN cat /f" in r.stdout and "dockercli" in r.stdout
    assert "Successfully tagged b-docker:cli" in r.stdout
    assert run(bd, "b-docker:cli") == "dockercli\n"
    bad = ctx({"Dockerfile": "FROM busybox\nRUN exit 7\n"})
    r = subprocess.run(["docker", "build", bad], capture_output=True, text=True, env=env,
                       timeout=120)  # fmt: skip
    assert r.returncode == 7
    assert "The command '/bin/sh -c exit 7' returned a non-zero code: 7" in r.stderr


def test_docker_py_images_build(bd: Daemon, ctx: Ctx) -> None:
    docker = pytest.importorskip("docker")
    d = ctx({"Dockerfile": "FROM busybox\nARG V\nLABEL v=$V\nCMD echo sdk\n"})
    client = docker.DockerClient(base_url=bd.host)
    try:
        image, logs = client.images.build(path=d, tag="b-sdk:1", buildargs={"V": "9"})
        lines = [x.get("stream", "") for x in logs]
        assert any(s.startswith("Successfully built") for s in lines)
        assert image.labels == {"v": "9"} and "b-sdk:1" in image.tags
        with pytest.raises(docker.errors.BuildError) as exc:
            client.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN exit 5\n"))
        assert "returned a non-zero code: 5" in str(exc.value)
    finally:
        client.close()
    assert json.loads(bd.cove("image", "inspect", "b-sdk:1").stdout)[0]["Config"]["Cmd"] == [
        "/bin/sh", "-c", "echo sdk"]  # fmt: skip


def test_proxy_args_reach_run_without_arg_and_stay_out_of_history(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": 'FROM busybox\nRUN echo "p=$HTTP_PROXY" > /p\nCMD cat /p\n'})
    r = build(bd, d, "-t", "b-proxy", "--build-arg", "HTTP_PROXY=http://127.0.0.1:9")
    assert r.returncode == 0 and "not consumed" not in r.stdout
    assert run(bd, "b-proxy") == "p=http://127.0.0.1:9\n"
    hist = bd.cove("history", "--no-trunc", "b-proxy", check=True).stdout
    assert "127.0.0.1:9" not in hist


def test_rm_false_keeps_intermediate_containers(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nRUN true\n"})
    before = set(bd.cove("ps", "-aq").stdout.split())
    r = build(bd, d, "--rm=false", "--no-cache")
    assert r.returncode == 0 and "Removing intermediate container" not in r.stdout
    kept = [c for c in bd.cove("ps", "-aq").stdout.split() if c not in before]
    assert len(kept) == 1
    bd.cove("rm", "-f", *kept, check=True)


def test_missing_base_is_pulled_with_progress(bd: Daemon, ctx: Ctx) -> None:
    from tests.integration.registry.conftest import cove_registry

    with cove_registry() as reg:
        name = f"{reg.addr}/buildbase:1"
        bd.cove("tag", "busybox", name, check=True)
        bd.cove("push", name, check=True)
        bd.cove("rmi", name, check=True)
        d = ctx({"Dockerfile": f"FROM {name}\nCMD echo pulled\n"})
        r = build(bd, d, "-t", "b-pulled")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Pulling from buildbase" in r.stdout or "Downloaded newer image" in r.stdout
        assert run(bd, "b-pulled") == "pulled\n"
        r = build(bd, d, "-t", "b-pulled", "--pull")
        assert r.returncode == 0 and "Image is up to date" in r.stdout
