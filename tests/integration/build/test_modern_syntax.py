"""BuildKit-era Dockerfile syntax on cove's builder, with real containers: the syntax line,
heredocs in RUN/COPY/ADD, COPY/ADD flags (--chmod, --chown, --parents, --exclude, --link),
ADD --checksum of a URL served on loopback, ADD of a git repository served on loopback,
and an http(s) archive kept as one file."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.daemon_fixture import Daemon
from tests.integration.build.conftest import build, inspect, loopback_http, run

Ctx = Callable[[dict[str, Any]], str]


def serve(root: str) -> contextlib.AbstractContextManager[str]:
    """A static HTTP server on 127.0.0.1 for ``root``."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    return loopback_http(functools.partial(Quiet, directory=root))


@pytest.fixture
def webroot() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="cove-build-web-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def ok(r: subprocess.CompletedProcess[str]) -> None:
    assert r.returncode == 0, r.stdout + r.stderr


# --- the syntax line ------------------------------------------------------------------
def test_syntax_line_selects_the_builtin_frontend(bd: Daemon, ctx: Ctx) -> None:
    for tag in ("1", "1.7", "1.7-labs", "labs"):
        d = ctx({"Dockerfile": f"# syntax=docker/dockerfile:{tag}\nFROM busybox\nRUN true\n"})
        ok(build(bd, d, "-q"))
    d = ctx({"Dockerfile": "# syntax=example.com/other/frontend:2\nFROM busybox\n"})
    r = build(bd, d)
    assert r.returncode != 0
    assert "example.com/other/frontend:2" in r.stderr and "frontend" in r.stderr


# --- heredocs ---------------------------------------------------------------------------
def test_heredoc_matrix(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": (
        "FROM busybox\nARG WHO=world\nENV GREET=hello\n"
        "RUN <<EOF\necho \"$GREET $WHO\" > /plain\nEOF\n"
        "RUN <<-EOF\n\techo tabs stripped > /chomped\n\tEOF\n"
        "RUN <<EOF\n#!/bin/sh\necho \"run as $0\" > /shebang\nEOF\n"
        "RUN <<EOF\n#!/usr/bin/awk -f\nBEGIN { print \"awk ran\" > \"/awk\" }\nEOF\n"
        "RUN cat <<A > /two && cat <<'B' >> /two\nfirst $GREET\nA\nsecond $GREET\nB\n"
        "COPY <<EOF /expanded\n$GREET ${WHO}\nEOF\n"
        "COPY <<\"EOF\" /literal\n$GREET ${WHO}\nEOF\n"
        "COPY <<-EOF /chomp-copy\n\t\tindented\n\tEOF\n"
        "COPY <<one <<two /multi/\n1\none\n2\ntwo\n"
        "COPY --chmod=755 <<EOF /script.sh\n#!/bin/sh\necho script\nEOF\n"
        "ADD <<EOF /added\nadded $GREET\nEOF\n"
        "CMD cat /plain /chomped /shebang /awk /two /expanded /literal /chomp-copy "
        "/multi/one /multi/two /added && /script.sh && stat -c '%a %n' /script.sh /expanded\n"
    )})  # fmt: skip
    ok(build(bd, d, "-t", "b-heredocs"))
    assert run(bd, "b-heredocs") == (
        "hello world\ntabs stripped\nrun as /dev/pipes/EOF\nawk ran\n"
        "first hello\nsecond $GREET\nhello world\n$GREET ${WHO}\nindented\n1\n2\n"
        "added hello\nscript\n755 /script.sh\n644 /expanded\n"
    )


def test_shebang_heredoc_cache_follows_the_body(bd: Daemon, ctx: Ctx) -> None:
    for word in ("one", "two"):
        d = ctx({"Dockerfile": f"FROM busybox\nRUN <<EOF\n#!/bin/sh\necho {word} > /w\nEOF\n"})
        ok(build(bd, d, "-t", "b-shebang-cache"))
        assert run(bd, "b-shebang-cache", "cat", "/w") == word + "\n"


def test_onbuild_heredoc_runs_whole_in_the_child(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nONBUILD RUN <<EOF\necho one > /t\necho two >> /t\nEOF\n"})
    ok(build(bd, d, "-t", "b-onbuild-heredoc"))
    child = ctx({"Dockerfile": "FROM b-onbuild-heredoc\nCMD cat /t\n"})
    ok(build(bd, child, "-t", "b-onbuild-child"))
    assert run(bd, "b-onbuild-child") == "one\ntwo\n"


# --- COPY/ADD flags ------------------------------------------------------------------------
def test_chmod_octal_and_symbolic_and_chown_names(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({
        "Dockerfile": (
            "FROM busybox\n"
            "RUN echo 'app:x:1234:2345::/:/bin/sh' >> /etc/passwd && "
            "echo 'grp:x:3456:' >> /etc/group && echo 'app:x:2345:' >> /etc/group\n"
            "COPY --chmod=640 f /octal\n"
            "COPY --chmod=u+x,g=r,o= f /symbolic\n"
            "COPY --chmod=a+X dir /dirx/\n"
            "COPY --chown=app f /byname\n"
            "COPY --chown=app:grp f /bothnames\n"
            "COPY --chown=77:88 f /numbers\n"
            "CMD stat -c '%a %u:%g %n' /octal /symbolic /dirx/sub /dirx/plain /byname /bothnames "
            "/numbers\n"
        ),
        "f": "data\n",
        "dir/plain": "p\n",
        "dir/sub/s": "s\n",
    })  # fmt: skip
    os.chmod(os.path.join(d, "f"), 0o644)
    os.chmod(os.path.join(d, "dir/plain"), 0o600)
    os.chmod(os.path.join(d, "dir/sub"), 0o700)
    ok(build(bd, d, "-t", "b-chmod"))
    assert run(bd, "b-chmod").splitlines() == [
        "640 0:0 /octal",
        "740 0:0 /symbolic",
        "711 0:0 /dirx/sub",
        "600 0:0 /dirx/plain",
        "644 1234:2345 /byname",
        "644 1234:3456 /bothnames",
        "644 77:88 /numbers",
    ]
    bad = ctx({"Dockerfile": "FROM busybox\nCOPY --chmod=u+q f /x\n", "f": ""})
    r = build(bd, bad)
    assert r.returncode != 0 and "invalid chmod parameter: u+q" in r.stderr


def test_parents_and_exclude(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({
        "Dockerfile": (
            "FROM busybox\n"
            "COPY --parents x/a.txt y/sub/b.txt /keep/\n"
            "COPY --parents ./y/./sub/b.txt /pivot/\n"
            "COPY --parents x /dirs/\n"
            "COPY --exclude=*.log --exclude=skip . /ex/\n"
            "COPY --exclude=*.txt x/* /glob/\n"
            "ADD --exclude=*.md x/* /added/\n"
            "CMD find /keep /pivot /dirs /ex /glob /added -type f | sort\n"
        ),
        "x/a.txt": "a", "x/c.md": "c", "y/sub/b.txt": "b",
        "app.log": "l", "skip/s": "s", "keep.me": "k",
    })  # fmt: skip
    ok(build(bd, d, "-t", "b-parents"))
    files = run(bd, "b-parents").split()
    assert [f for f in files if f.startswith("/keep/")] == ["/keep/x/a.txt", "/keep/y/sub/b.txt"]
    assert [f for f in files if f.startswith("/pivot/")] == ["/pivot/sub/b.txt"]
    assert [f for f in files if f.startswith("/dirs/")] == ["/dirs/x/a.txt", "/dirs/x/c.md"]
    ex = [f for f in files if f.startswith("/ex/")]
    assert "/ex/keep.me" in ex and "/ex/x/a.txt" in ex
    assert not any(f.endswith(".log") or "/skip/" in f for f in ex)
    assert [f for f in files if f.startswith("/glob/")] == ["/glob/c.md"]
    assert [f for f in files if f.startswith("/added/")] == ["/added/a.txt"]


def test_link_layer_is_reused_after_a_base_change(bd: Daemon, ctx: Ctx) -> None:
    files = {"app.txt": "the app\n"}
    layers = []
    for base in ("one", "two"):
        d = ctx({**files, "Dockerfile": (
            f"FROM busybox\nRUN echo {base} > /base\nCOPY --link app.txt /opt/app/\n"
        )})  # fmt: skip
        r = build(bd, d, "-t", f"b-link-{base}")
        ok(r)
        layers.append(inspect(bd, f"b-link-{base}")["RootFS"]["Layers"][-1])
    assert "Using linked layer" in r.stdout
    assert layers[0] == layers[1]
    assert run(bd, "b-link-two", "cat", "/base", "/opt/app/app.txt") == "two\nthe app\n"


# --- ADD of URLs and git repositories -------------------------------------------------------
def _tgz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_add_url_checksum_and_archive_kept(bd: Daemon, ctx: Ctx, webroot: str) -> None:
    payload = b"downloaded payload\n"
    with open(os.path.join(webroot, "file.txt"), "wb") as f:
        f.write(payload)
    with open(os.path.join(webroot, "pkg.tar.gz"), "wb") as f:
        f.write(_tgz({"inside.txt": b"x"}))
    good = "sha256:" + hashlib.sha256(payload).hexdigest()
    bad = "sha256:" + "0" * 64
    with serve(webroot) as url:
        d = ctx({"Dockerfile": (
            f"FROM busybox\nADD --checksum={good} {url}/file.txt /dl/\n"
            f"ADD {url}/pkg.tar.gz /dl/\n"
            "CMD cat /dl/file.txt && ls /dl && stat -c %a /dl/file.txt\n"
        )})  # fmt: skip
        ok(build(bd, d, "-t", "b-add-url"))
        d = ctx({"Dockerfile": f"FROM busybox\nADD --checksum={bad} {url}/file.txt /dl/\n"})
        r = build(bd, d, "-t", "b-add-bad")
    assert run(bd, "b-add-url") == "downloaded payload\nfile.txt\npkg.tar.gz\n600\n"
    assert r.returncode != 0
    assert f"digest mismatch {bad}: {good}" in r.stderr
    assert bd.cove("image", "inspect", "b-add-bad").returncode != 0
    d = ctx({"Dockerfile": f"FROM busybox\nADD --checksum={good} f /x\n", "f": "x"})
    r = build(bd, d)
    assert r.returncode != 0 and "checksum can't be specified for non-HTTP(S)" in r.stderr


def _git(*args: str, cwd: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "HOME": cwd}  # fmt: skip
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.mark.skipif(not shutil.which("git"), reason="git is not installed")
def test_add_git_repository(bd: Daemon, ctx: Ctx, webroot: str) -> None:
    work = os.path.join(webroot, "work")
    os.makedirs(os.path.join(work, "sub"))
    _git("init", "-q", "-b", "main", ".", cwd=work)
    with open(os.path.join(work, "sub", "f.txt"), "w") as f:
        f.write("v1\n")
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "one", cwd=work)
    _git("tag", "v1", cwd=work)
    with open(os.path.join(work, "sub", "f.txt"), "w") as f:
        f.write("v2\n")
    _git("commit", "-q", "-am", "two", cwd=work)
    # a bare copy served over git's "dumb" HTTP protocol by a static server on loopback
    _git("clone", "-q", "--bare", work, os.path.join(webroot, "repo.git"), cwd=webroot)
    _git("update-server-info", cwd=os.path.join(webroot, "repo.git"))
    with serve(webroot) as url:
        d = ctx({"Dockerfile": (
            f"FROM busybox\nADD {url}/repo.git /head/\n"
            f"ADD {url}/repo.git#v1:sub /tagged/\n"
            f"ADD --keep-git-dir=true {url}/repo.git#main /withgit/\n"
            "CMD cat /head/sub/f.txt /tagged/f.txt && ls -a /head /withgit | grep -c '^.git$'\n"
        )})  # fmt: skip
        ok(build(bd, d, "-t", "b-add-git"))
        d = ctx({"Dockerfile": f"FROM busybox\nADD {url}/repo.git#nosuchref /x/\n"})
        missing = build(bd, d)
        v1 = subprocess.run(["git", "rev-parse", "v1"], cwd=work, capture_output=True,
                            text=True, check=True).stdout.strip()  # fmt: skip
        d = ctx({"Dockerfile": f"FROM busybox\nADD --checksum={v1[:12]} {url}/repo.git#v1 /x/\n"})
        ok(build(bd, d))
        d = ctx({"Dockerfile": f"FROM busybox\nADD --checksum=0000000 {url}/repo.git#v1 /x/\n"})
        wrong = build(bd, d)
    assert run(bd, "b-add-git") == "v2\nv1\n1\n"
    assert missing.returncode != 0 and "nosuchref" in missing.stderr
    assert wrong.returncode != 0 and f"expected checksum to match 0000000, got {v1}" in wrong.stderr
    d = ctx({"Dockerfile": "FROM busybox\nADD git@example.invalid:x/y.git /x/\n"})
    r = build(bd, d)
    assert r.returncode != 0 and "SSH agent forwarding" in r.stderr


# --- platforms ------------------------------------------------------------------------------
def test_platform_args_and_foreign_platform_refused(bd: Daemon, ctx: Ctx) -> None:
    from cove.build import platforms

    me = platforms.text(platforms.host())
    d = ctx({"Dockerfile": (
        "ARG BASE=busybox\nFROM --platform=$BUILDPLATFORM $BASE AS b\n"
        "ARG TARGETPLATFORM\nARG TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDARCH\n"
        "RUN echo \"$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT|$BUILDPLATFORM|"
        "$BUILDARCH|$BUILDOS\" > /p\nCMD cat /p\n"
    )})  # fmt: skip
    ok(build(bd, d, "--platform", me, "-t", "b-platform"))
    os_, arch, _ = platforms.host()
    assert run(bd, "b-platform") == f"{me}|{os_}|{arch}||{me}|{arch}|\n"  # BUILDOS: no ARG
    foreign = "linux/s390x" if arch != "s390x" else "linux/amd64"
    if platforms.emulated(platforms.parse(foreign)[1]):
        pytest.skip(f"an emulator for {foreign} is registered here")
    r = build(bd, d, "--platform", foreign)
    assert r.returncode != 0
    assert f"cannot build for platform '{foreign}'" in r.stderr and "emulator" in r.stderr
    d = ctx({"Dockerfile": f"FROM --platform={foreign} busybox\nRUN true\n"})
    r = build(bd, d)
    assert r.returncode != 0 and "emulator" in r.stderr


# --- build checks ---------------------------------------------------------------------------
LINTED = (
    "FROM busybox as Builder\nMAINTAINER someone\nENV A=1\nCOPY $NOPE /x\nCMD echo shell form\n"
)


def test_check_reports_and_exits_1_and_warns_on_build(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": LINTED})
    r = build(bd, d, "--check")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    for rule, line in (("FromAsCasing", 1), ("StageNameCasing", 1), ("MaintainerDeprecated", 2),
                       ("UndefinedVar", 4), ("JSONArgsRecommended", 5)):  # fmt: skip
        assert f"Dockerfile:{line} {rule}: " in out, out
    assert "5 problems found by the build checks" in r.stderr
    clean = ctx({"Dockerfile": 'FROM busybox AS base\nCMD ["true"]\n'})
    r = build(bd, clean, "--check")
    assert r.returncode == 0 and "no problems found" in r.stdout
    # a normal build shows the same findings as warnings and succeeds
    d = ctx({"Dockerfile": LINTED.replace("COPY $NOPE /x\n", ""), "x": ""})
    r = build(bd, d, "-t", "b-lint-warn")
    ok(r)
    assert "[Warning] Dockerfile:5 JSONArgsRecommended: " not in r.stdout
    assert "[Warning] Dockerfile:4 JSONArgsRecommended: " in r.stdout
    # the check directive: skip a rule, or make findings errors
    d = ctx({"Dockerfile": "# check=skip=JSONArgsRecommended\nFROM busybox\nCMD echo x\n"})
    assert "no problems found" in build(bd, d, "--check").stdout
    d = ctx({"Dockerfile": "# check=error=true\nFROM busybox\nCMD echo x\n"})
    r = build(bd, d, "-t", "b-lint-error")
    assert r.returncode == 1 and "1 problem found by the build checks" in r.stderr
