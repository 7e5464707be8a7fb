"""Dispatch, usage errors and exit codes, without a daemon."""

from __future__ import annotations

import pytest

from cove.cli.main import dispatch


@pytest.fixture(autouse=True)
def no_daemon(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("COVE_HOST", f"unix://{tmp_path}/nothing.sock")
    monkeypatch.setenv("COVE_NO_AUTOSTART", "1")


def test_unknown_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert dispatch(["ps", "--bogus"]) == 125
    assert capsys.readouterr().err == (
        "unknown flag: --bogus\n\nUsage:  cove ps [OPTIONS]\n\n"
        "Run 'cove ps --help' for more information\n"
    )


def test_flag_error_in_management_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert dispatch(["container", "ls", "-x"]) == 125
    err = capsys.readouterr().err
    assert err.startswith("unknown shorthand flag: 'x' in -x\n\nUsage:  cove container ls")


@pytest.mark.parametrize(
    ("argv", "first", "hint"),
    [
        (["logs"], "cove: 'cove logs' requires 1 argument", "Run"),
        (["run"], "cove: 'cove run' requires at least 1 argument", "See"),
        (["ps", "x"], "cove: 'cove ps' accepts no arguments", "Run"),
        (["tag", "x"], "cove: 'cove tag' requires 2 arguments", "Run"),
        (["images", "a", "b"], "cove: 'cove images' requires at most 1 argument", "Run"),
    ],
)
def test_argument_counts(
    argv: list[str], first: str, hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dispatch(argv) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[0] == first
    assert err.endswith(f"{hint} 'cove {argv[0]} --help' for more information\n")


def test_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert dispatch(["bogus"]) == 1
    assert capsys.readouterr().err == (
        "cove: unknown command: cove bogus\n\nRun 'cove --help' for more information\n"
    )


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert dispatch(["ps", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage:  cove ps [OPTIONS]\n\nList containers\n\nAliases:\n")
    assert "  -a, --all " in out and "      --format string " in out
    assert "(default -1)" in out


def test_deprecated_h(capsys: pytest.CaptureFixture[str]) -> None:
    assert dispatch(["ps", "-h"]) == 0
    assert capsys.readouterr().out.startswith("Flag shorthand -h has been deprecated")


def test_no_daemon(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    assert dispatch(["ps"]) == 1
    assert capsys.readouterr().err == (
        f"Cannot connect to the cove daemon at unix://{tmp_path}/nothing.sock. "
        "Is the cove daemon running?\n"
    )


def test_run_flag_value_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert dispatch(["run", "-p", "abc", "busybox"]) == 125
    assert capsys.readouterr().err == (
        "cove: invalid containerPort: abc\n\nRun 'cove run --help' for more information\n"
    )


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert dispatch(["--version"]) == 0
    assert capsys.readouterr().out.startswith("cove version ")
