"""The prune verbs' y/N prompt: the docker CLI's words, and only y/yes goes ahead."""

from __future__ import annotations

import io

import pytest

from cove.cli.confirm import confirmed


@pytest.mark.parametrize(
    ("answer", "ahead"),
    [("y\n", True), ("YES\n", True), (" yes \n", True), ("n\n", False), ("\n", False), ("", False)],
)
def test_only_yes_goes_ahead(monkeypatch: pytest.MonkeyPatch, answer: str, ahead: bool) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    monkeypatch.setattr("sys.stdout", out)
    assert confirmed("all stopped containers") is ahead
    assert out.getvalue() == (
        "WARNING! This will remove all stopped containers.\n"
        "Are you sure you want to continue? [y/N] "
    )
