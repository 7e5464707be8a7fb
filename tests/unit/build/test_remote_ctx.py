"""Which remote contexts are git repositories, as dockerd tells them apart (pure)."""

from __future__ import annotations

from cove.build.remotectx import is_git


def test_git_urls() -> None:
    assert is_git("git://host/repo.git#main:sub")
    assert is_git("git@github.com:o/r.git")
    assert is_git("https://example.test/o/r.git#v1")
    assert is_git("http://127.0.0.1:8000/repo.git")


def test_other_urls_are_downloads() -> None:
    assert not is_git("https://example.test/ctx.tar.gz")
    assert not is_git("http://127.0.0.1:8000/Dockerfile")
