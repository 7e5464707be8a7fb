from __future__ import annotations

import os
import stat

import pytest

from cove.build.cache import BuildCache, step_key
from cove.build.copyflags import parse_chmod
from cove.build.dockerfile import instructions
from cove.build.dockerfile.parser import ParseError, parse
from cove.build.files import Owner, Planner, dest_path
from cove.build.steps import parse_duration
from cove.errors import InvalidArgument


class Image:
    """An image holding /tmp (1777) and /usr/bin; nothing else."""

    def __init__(self, root: str) -> None:
        os.makedirs(os.path.join(root, "usr/bin"))
        os.makedirs(os.path.join(root, "tmp"))
        os.chmod(os.path.join(root, "tmp"), 0o1777)
        self.root = root

    def lookup(self, path: str, follow: bool = True) -> tuple[str, os.stat_result] | None:
        host = os.path.join(self.root, path.lstrip("/"))
        return (host, os.lstat(host)) if os.path.lexists(host) else None

    def resolve(self, path: str, follow: bool = True) -> str:
        return path


def test_dest_path_rules() -> None:
    assert dest_path("x", "/w") == "/w/x"
    assert dest_path("x/", "/w") == "/w/x/"
    assert dest_path(".", "/w") == "/w/"
    assert dest_path("/a/../b", "/") == "/b"


def test_planner_keeps_existing_parents_and_creates_missing(tmp_path: str) -> None:
    img = Image(os.path.join(str(tmp_path), "img"))
    src = os.path.join(str(tmp_path), "f")
    with open(src, "w") as f:
        f.write("x")
    p = Planner(img, Owner(5, 6, True), None, "COPY")
    p.one(None, "f", src, os.stat(src), "/tmp/new/")  # type: ignore[arg-type]
    by = {e.path: e for e in p.plan.entries}
    assert by["tmp"].mode == 0o1777 and by["tmp"].uid == 0
    assert by["tmp/new"].mode == 0o755 and (by["tmp/new"].uid, by["tmp/new"].gid) == (5, 6)
    assert by["tmp/new/f"].kind == "file" and by["tmp/new/f"].uid == 5
    p2 = Planner(img, Owner(), None, "COPY")
    p2.one(None, "f", src, os.stat(src), "/usr/bin")  # type: ignore[arg-type]
    assert [e.path for e in p2.plan.entries] == ["usr", "usr/bin", "usr/bin/f"]


def test_checksum_covers_content_and_metadata_not_mtime(tmp_path: str) -> None:
    img = Image(os.path.join(str(tmp_path), "img"))
    src = os.path.join(str(tmp_path), "f")
    with open(src, "w") as f:
        f.write("x")

    def checksum() -> str:
        p = Planner(img, Owner(), None, "COPY")
        p.one(None, "f", src, os.stat(src), "/f")  # type: ignore[arg-type]
        return p.plan.checksum()

    first = checksum()
    os.utime(src, (1, 1))
    assert checksum() == first
    os.chmod(src, stat.S_IRUSR)
    assert checksum() != first


def test_chmod_values() -> None:
    assert parse_chmod("0755").apply(0o600) == 0o755
    for bad in ("9", "abc", "77777"):
        with pytest.raises(InvalidArgument):
            parse_chmod(bad)


def test_cache_round_trip(tmp_path: str) -> None:
    c = BuildCache(str(tmp_path))
    k = step_key("sha256:a", "RUN x")
    assert k != step_key("sha256:b", "RUN x") != step_key("sha256:a", "RUN x", "extra")
    c.put(k, "sha256:img")
    c.save()
    assert BuildCache(str(tmp_path)).get(k) == "sha256:img"


def test_durations() -> None:
    assert parse_duration("x", "1m30s") == 90_000_000_000
    assert parse_duration("x", "250ms") == 250_000_000
    with pytest.raises(InvalidArgument):
        parse_duration("x", "5 s")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM a\nCOPY --nope=1 a b\n", "Unknown flag: nope"),
        ("FROM a\nCOPY a\n", "COPY requires at least two arguments"),
        ("FROM a\nONBUILD ONBUILD RUN x\n", "Chaining ONBUILD"),
        ("FROM a\nONBUILD FROM b\n", "FROM isn't allowed as an ONBUILD trigger"),
        ("FROM a\nSHELL sh -c\n", "SHELL requires the arguments to be in JSON form"),
        ("FROM a b c d\n", "FROM requires either one or three arguments"),
        ("FROM a\nHEALTHCHECK CONNECT x\n", "Unknown type"),
        ("FROM a\nBOGUS x\n", "unknown instruction: BOGUS"),
    ],
)
def test_instruction_checks_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ParseError) as exc:
        for n in parse(text).nodes:
            instructions.check(n)
    assert message in str(exc.value) and "line " in str(exc.value)
