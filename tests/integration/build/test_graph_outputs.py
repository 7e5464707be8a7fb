"""The build graph (needed stages only, independent stages together, their output in file
order) and the build's outputs and inputs: -o local/tar, --iidfile, --metadata-file,
--build-context and Dockerfile.dockerignore."""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Callable
from typing import Any

from tests.daemon_fixture import Daemon
from tests.integration.build.conftest import build, inspect, run

Ctx = Callable[[dict[str, Any]], str]

# each stage records when its step started and ended (seconds since boot)
STAMP = "RUN read a _ < /proc/uptime; sleep 1; read b _ < /proc/uptime; echo $a $b > /{name}\n"
PARALLEL = (
    "FROM busybox AS one\n" + STAMP.format(name="one") +
    "FROM busybox AS two\n" + STAMP.format(name="two") +
    "FROM busybox AS unused\nRUN echo unused-ran\n"
    "FROM busybox\nCOPY --from=one /one /one\nCOPY --from=two /two /two\n"
)  # fmt: skip


def test_needed_stages_only_and_independent_ones_overlap(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": PARALLEL})
    r = build(bd, d, "-t", "b-parallel", "--no-cache")
    assert r.returncode == 0, r.stderr
    assert "Skipping stages the target does not need: unused" in r.stdout
    assert "unused-ran" not in r.stdout and "RUN echo unused-ran" not in r.stdout
    one = [float(x) for x in run(bd, "b-parallel", "cat", "/one").split()]
    two = [float(x) for x in run(bd, "b-parallel", "cat", "/two").split()]
    # an ordering fact, not a timing: each stage's step started before the other's ended
    assert one[0] < two[1] and two[0] < one[1], (one, two)
    # --target: only that stage and what it needs
    r = build(bd, d, "--target", "unused", "--no-cache")
    assert r.returncode == 0 and "unused-ran" in r.stdout
    assert "Step 2/2" in r.stdout and "sleep 1" not in r.stdout


def test_failing_stage_stops_the_build(bd: Daemon, ctx: Ctx) -> None:
    # the failing stage comes after a slow one: its output still shows, then the error
    df = (
        "FROM busybox AS slow\nRUN sleep 2; echo slow-done\n"
        "FROM busybox AS bad\nRUN echo boom-output; exit 3\n"
        "FROM busybox\nCOPY --from=bad / /b\nCOPY --from=slow / /s\n"
    )
    r = build(bd, ctx({"Dockerfile": df}), "--no-cache")
    assert r.returncode == 3 and "returned a non-zero code: 3" in r.stderr
    assert "boom-output" in r.stdout


def test_outputs_iidfile_metadata(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nRUN echo hi > /hello && mkdir -p /deep/er\n"})
    out = os.path.join(d, "out")
    tar = os.path.join(d, "fs.tar")
    iid = os.path.join(d, "iid")
    meta = os.path.join(d, "meta.json")
    r = build(
        bd, d, "-t", "b-out:1", "-o", f"type=local,dest={out}", "-o", f"type=tar,dest={tar}",
        "--iidfile", iid, "--metadata-file", meta,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    with open(os.path.join(out, "hello")) as f:
        assert f.read() == "hi\n"
    assert os.path.isdir(os.path.join(out, "deep", "er"))
    assert os.path.isfile(os.path.join(out, "bin", "busybox"))
    with tarfile.open(tar) as tf:
        names = tf.getnames()
    assert "hello" in names or "./hello" in names
    image_id = inspect(bd, "b-out:1")["Id"]
    with open(iid) as f:
        assert f.read() == image_id
    with open(meta) as f:
        data = json.load(f)
    assert data["containerimage.config.digest"] == image_id
    assert data["image.name"] == "b-out:1"
    # the shorthand: -o DIR
    out2 = os.path.join(d, "out2")
    assert build(bd, d, "-o", out2).returncode == 0
    assert os.path.isfile(os.path.join(out2, "hello"))
    assert not bd.cove("ps", "-aq", "--filter", "ancestor=" + image_id).stdout.strip()


def test_build_contexts_and_dockerfile_ignore(bd: Daemon, ctx: Ctx) -> None:
    extra = ctx({"file.txt": "from the named dir\n", ".dockerignore": "skip.txt\n",
                 "skip.txt": "no"})  # fmt: skip
    d = ctx({
        "Dockerfile": (
            "FROM base\n"
            "COPY --from=extra /file.txt /named.txt\n"
            "COPY --from=extra / /extra/\n"
            "COPY . /ctx/\n"
        ),
        "Dockerfile.dockerignore": "secret.txt\nDockerfile*\n",
        ".dockerignore": "other.txt\n",
        "secret.txt": "must not travel",
        "other.txt": "travels: only the Dockerfile's own ignore file counts",
    })  # fmt: skip
    r = build(
        bd, d, "-t", "b-named", "--build-context", f"extra={extra}",
        "--build-context", "base=docker-image://busybox",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert run(bd, "b-named", "cat", "/named.txt") == "from the named dir\n"
    listing = run(bd, "b-named", "ls", "-A", "/ctx", "/extra").split()
    assert "other.txt" in listing and "secret.txt" not in listing
    assert "skip.txt" not in listing and ".cove-build-contexts" not in listing
    assert (
        inspect(bd, "b-named")["RootFS"]["Layers"][0]
        == inspect(bd, "busybox")["RootFS"]["Layers"][0]
    )
