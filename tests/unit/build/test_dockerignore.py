from __future__ import annotations

import pytest

from cove.util.dockerignore import Matcher

RULES = """
# a comment
*.md
!README.md
**/*.pyc
tmp
/abs/x
a/*/c
docs/**
!docs/keep
"""


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("x.md", True), ("README.md", False), ("sub/x.md", False), ("a/b/c.pyc", True),
        ("c.pyc", True), ("tmp", True), ("tmp/deep/f", True), ("abs/x", True),
        ("a/b/c", True), ("a/b/c/d", True), ("a/b/d", False), ("docs/x", True),
        ("docs/keep", False), ("docs", False), ("other", False),
    ],
)  # fmt: skip
def test_docker_pattern_rules(path: str, excluded: bool) -> None:
    assert Matcher.from_text(RULES).excluded(path) is excluded


def test_last_match_wins_and_exceptions_need_descending() -> None:
    m = Matcher.from_text("dir\n!dir/keep.txt\n")
    assert m.excluded("dir/other") and not m.excluded("dir/keep.txt")
    assert m.may_hold_exceptions("dir")
    assert not Matcher.from_text("dir\n").may_hold_exceptions("dir")


def test_character_classes_and_escapes() -> None:
    m = Matcher.from_text("file[0-9].txt\nq\\*\n[!a]x\n")
    assert m.excluded("file3.txt") and not m.excluded("filex.txt")
    assert m.excluded("q*") and not m.excluded("qq")
    assert m.excluded("bx") and not m.excluded("ax")


def test_bare_exclamation_is_refused() -> None:
    with pytest.raises(ValueError):
        Matcher.from_text("!\n")
