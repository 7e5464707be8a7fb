"""COPY and ADD: directory semantics, wildcards, ownership and modes, .dockerignore, the
context boundary, tar auto-extraction and URL downloads (from a loopback HTTP server)."""

from __future__ import annotations

import bz2
import gzip
import http.server
import io
import lzma
import os
import tarfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.daemon_fixture import Daemon
from tests.integration.build.conftest import build, loopback_http, run

Ctx = Callable[[dict[str, Any]], str]


def test_copy_directory_semantics_and_wildcards(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({
        "Dockerfile": (
            "FROM busybox\nCOPY dir /d1/\nCOPY dir /d2\nCOPY *.txt /texts/\n"
            "COPY one.txt /renamed\nCOPY one.txt two.txt /both/\nCOPY dir/sub/f /etc/\n"
            "WORKDIR /w\nCOPY one.txt rel/\n"
            "CMD find /d1 /d2 /texts /renamed /both /etc/f /w | sort\n"
        ),
        "dir/a": "a", "dir/sub/f": "f", "one.txt": "1", "two.txt": "2",
    })  # fmt: skip
    r = build(bd, d, "-t", "b-copy")
    assert r.returncode == 0, r.stderr
    assert run(bd, "b-copy").split() == sorted([
        "/both", "/both/one.txt", "/both/two.txt", "/d1", "/d1/a", "/d1/sub", "/d1/sub/f",
        "/d2", "/d2/a", "/d2/sub", "/d2/sub/f", "/etc/f", "/renamed", "/texts",
        "/texts/one.txt", "/texts/two.txt", "/w", "/w/rel", "/w/rel/one.txt",
    ])  # fmt: skip


def test_copy_several_sources_need_a_directory_destination(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nCOPY a b /notdir\n", "a": "", "b": ""})
    r = build(bd, d)
    assert r.returncode != 0
    assert "the destination must be a directory and end with a /" in r.stderr


def test_copy_keeps_existing_directories_and_sets_owner_and_mode(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({
        "Dockerfile": (
            "FROM busybox\nCOPY f /tmp/\nCOPY --chown=1:2 --chmod=640 f /own/x\n"
            "COPY --chown=nobody f /named\n"
            "CMD stat -c '%n %a %u:%g' /tmp /tmp/f /own/x /named\n"
        ),
        "f": "data",
    })  # fmt: skip
    os.chmod(os.path.join(d, "f"), 0o755)
    assert build(bd, d, "-t", "b-owner").returncode == 0
    assert run(bd, "b-owner").splitlines() == [
        "/tmp 1777 0:0", "/tmp/f 755 0:0", "/own/x 640 1:2", "/named 755 65534:65534",
    ]  # fmt: skip


def test_destinations_follow_symlinks_in_the_image(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({
        "Dockerfile": (
            "FROM busybox\nRUN mkdir -p /real && ln -s /real /linkdir\n"
            "COPY f /linkdir/\nCOPY f /linkdir/sub/g\nCOPY dir /linkdir\n"
            "CMD ls -l /linkdir | cut -c1; find /real | sort\n"
        ),
        "f": "x", "dir/in": "y",
    })  # fmt: skip
    r = build(bd, d, "-t", "b-symdest")
    assert r.returncode == 0, r.stderr
    assert run(bd, "b-symdest").split() == [
        "l", "/real", "/real/f", "/real/in", "/real/sub", "/real/sub/g"]  # fmt: skip


def test_dockerignore_double_star_and_exceptions(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({
        "Dockerfile": "FROM busybox\nCOPY . /app/\nCMD find /app -type f | sort\n",
        ".dockerignore": "**/*.log\nsecret\nbuild\n!build/keep\n",
        "a.log": "", "deep/er/b.log": "", "deep/er/c.txt": "", "secret": "",
        "build/drop": "", "build/keep": "", "main.txt": "",
    })  # fmt: skip
    assert build(bd, d, "-t", "b-ignore").returncode == 0
    assert run(bd, "b-ignore").split() == [
        "/app/.dockerignore", "/app/Dockerfile", "/app/build/keep", "/app/deep/er/c.txt",
        "/app/main.txt",
    ]  # fmt: skip


def test_nothing_outside_the_context(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nCOPY ../x /x\n"})
    r = build(bd, d)
    assert r.returncode != 0 and "outside the build context" in r.stderr
    d = ctx({"Dockerfile": "FROM busybox\nCOPY link /x\n", "link": ("symlink", "/etc/hostname")})
    r = build(bd, d)
    assert r.returncode != 0 and "outside the build context" in r.stderr
    d = ctx({"Dockerfile": "FROM busybox\nCOPY missing /x\n"})
    r = build(bd, d)
    assert r.returncode != 0 and "file not found in build context" in r.stderr


def _tar(fmt: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in (("top.txt", b"top\n"), ("inner/deep.txt", b"deep\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return {"tar": raw, "gz": gzip.compress(raw), "bz2": bz2.compress(raw),
            "xz": lzma.compress(raw)}[fmt]  # fmt: skip


@pytest.mark.parametrize("fmt", ["tar", "gz", "bz2", "xz"])
def test_add_extracts_local_archives(bd: Daemon, ctx: Ctx, fmt: str) -> None:
    d = ctx({
        "Dockerfile": f"FROM busybox\nADD a.{fmt} /x/\nADD plain /y\n"
        "CMD cat /x/top.txt /x/inner/deep.txt /y\n",
        f"a.{fmt}": _tar(fmt), "plain": "not an archive\n",
    })  # fmt: skip
    r = build(bd, d, "-t", f"b-add-{fmt}")
    assert r.returncode == 0, r.stderr
    assert run(bd, f"b-add-{fmt}") == "top\ndeep\nnot an archive\n"


@pytest.fixture
def http_files() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/files/remote.txt":
                self.send_error(404)
                return
            body = b"remote content\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with loopback_http(Handler) as url:
        yield url


def test_add_url_keeps_the_remote_mtime(bd: Daemon, ctx: Ctx, http_files: str) -> None:
    d = ctx({"Dockerfile": (
        f"FROM busybox\nADD {http_files}/files/remote.txt /dl/\n"
        f"ADD {http_files}/files/remote.txt /named\n"
        "CMD cat /dl/remote.txt; stat -c '%a %Y' /dl/remote.txt /named\n"
    )})  # fmt: skip
    r = build(bd, d, "-t", "b-url")
    assert r.returncode == 0, r.stderr
    assert run(bd, "b-url") == "remote content\n600 1445412480\n600 1445412480\n"
    d = ctx({"Dockerfile": f"FROM busybox\nADD {http_files}/nope /x\n"})
    r = build(bd, d)
    assert r.returncode != 0 and "404" in r.stderr
