"""pflag-compatible parsing."""

from __future__ import annotations

import pytest

from cove.cli.flags import BOOL, INT, LIST, STRING, Flag, FlagError, HelpRequested, parse

FLAGS = [
    Flag("interactive", "i", BOOL),
    Flag("tty", "t", BOOL),
    Flag("detach", "d", BOOL),
    Flag("env", "e", LIST),
    Flag("name", None, STRING),
    Flag("last", "n", INT, default=-1),
    Flag("hostname", "h", STRING),
]


def test_combined_short_booleans() -> None:
    opts, args = parse(FLAGS, ["-itd", "busybox"])
    assert opts.on("interactive") and opts.on("tty") and opts.on("detach")
    assert args == ["busybox"]


def test_values_glued_separate_and_with_equals() -> None:
    opts, _ = parse(FLAGS, ["-eA=1", "-e", "B=2", "-e=C=3", "--env=D=4", "--env", "E"])
    assert opts.many("env") == ["A=1", "B=2", "C=3", "D=4", "E"]


def test_short_value_after_booleans() -> None:
    opts, _ = parse(FLAGS, ["-ite", "K=V"])
    assert opts.on("tty") and opts.many("env") == ["K=V"]
    opts, _ = parse(FLAGS, ["-itn5"])
    assert opts.number("last") == 5


def test_bool_with_explicit_value() -> None:
    opts, _ = parse(FLAGS, ["--tty=false", "-i=true"])
    assert not opts.on("tty") and opts.on("interactive")
    assert opts.given("tty")


def test_defaults_and_given() -> None:
    opts, _ = parse(FLAGS, [])
    assert opts.number("last") == -1 and opts.text("name") == "" and opts.many("env") == []
    assert not opts.given("last")


def test_double_dash_ends_flags() -> None:
    opts, args = parse(FLAGS, ["--name", "x", "--", "-i", "--tty"])
    assert opts.text("name") == "x" and args == ["-i", "--tty"]
    assert not opts.on("interactive")


def test_interspersed_and_not() -> None:
    _, args = parse(FLAGS, ["a", "-i", "b"])
    assert args == ["a", "b"]
    opts, args = parse(FLAGS, ["-i", "busybox", "ls", "-la", "--name", "x"], interspersed=False)
    assert opts.on("interactive") and args == ["busybox", "ls", "-la", "--name", "x"]
    assert opts.text("name") == ""


def test_single_dash_is_positional() -> None:
    _, args = parse(FLAGS, ["-", "x"])
    assert args == ["-", "x"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bogus"], "unknown flag: --bogus"),
        (["--bogus=1"], "unknown flag: --bogus"),
        (["-x"], "unknown shorthand flag: 'x' in -x"),
        (["-ix"], "unknown shorthand flag: 'x' in -x"),
        (["-n"], "flag needs an argument: 'n' in -n"),
        (["--name"], "flag needs an argument: --name"),
        (
            ["-n", "abc"],
            'invalid argument "abc" for "-n, --last" flag: strconv.ParseInt: parsing "abc": '
            "invalid syntax",
        ),
        (
            ["-i=x"],
            'invalid argument "x" for "-i, --interactive" flag: strconv.ParseBool: '
            'parsing "x": invalid syntax',
        ),
    ],
)
def test_errors_use_pflag_wording(argv: list[str], message: str) -> None:
    with pytest.raises(FlagError) as e:
        parse(FLAGS, argv)
    assert str(e.value) == message


def test_help() -> None:
    with pytest.raises(HelpRequested) as e:
        parse(FLAGS, ["--help"])
    assert not e.value.deprecated_h
    with pytest.raises(HelpRequested) as e:
        parse(FLAGS[:-1], ["-h"])  # -h is help only where it is not a flag
    assert e.value.deprecated_h
    opts, _ = parse(FLAGS, ["-h", "box"])
    assert opts.text("hostname") == "box"


def test_check_hook_error_text() -> None:
    def check(text: str) -> None:
        raise ValueError(f"invalid size: '{text}'")

    flags = [Flag("memory", "m", STRING, check=check)]
    with pytest.raises(FlagError, match=r'^invalid argument "abc" for "-m, --memory" flag: inv'):
        parse(flags, ["-m", "abc"])
