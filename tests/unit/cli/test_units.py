"""Docker's text forms: sizes, durations, IDs, quoting, byte and duration parsing."""

from __future__ import annotations

import pytest

from cove.cli.units import (
    ellipsis,
    go_quote,
    human_duration,
    human_size,
    parse_go_duration,
    ram_in_bytes,
    truncate_id,
)


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0B"), (999, "999B"), (1000, "1kB"), (1982256, "1.98MB"), (4260000, "4.26MB"),
     (1_500_000_000, "1.5GB"), (123456, "123kB")],
)  # fmt: skip
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


def test_human_size_precision_four() -> None:
    assert human_size(1984132, 4) == "1.984MB"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.5, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"),
     (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"),
     (5400, "2 hours"), (47 * 3600, "47 hours"), (48 * 3600, "2 days"),
     (14 * 86400, "2 weeks"), (60 * 86400, "2 months"), (3 * 365 * 86400, "3 years")],
)  # fmt: skip
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_truncate_id() -> None:
    assert truncate_id("sha256:" + "a" * 64) == "a" * 12
    assert truncate_id("0123456789abcdef") == "0123456789ab"


def test_ellipsis() -> None:
    assert ellipsis("sleep 1000", 20) == "sleep 1000"
    assert ellipsis("sh -c 'echo out; echo err'", 20) == "sh -c 'echo out; ec…"
    assert len(ellipsis("x" * 50, 20)) == 20


def test_go_quote() -> None:
    assert go_quote("sh -c 'echo \"q\"'") == '"sh -c \'echo \\"q\\"\'"'
    assert go_quote("a\tb\nc\\") == '"a\\tb\\nc\\\\"'
    assert go_quote("\x01é") == '"\\x01é"'


@pytest.mark.parametrize(
    ("text", "value"),
    [("512m", 512 << 20), ("1g", 1 << 30), ("64k", 64 << 10), ("100", 100), ("1.5g", 3 << 29),
     ("10MB", 10 << 20), ("2gib", 2 << 30)],
)  # fmt: skip
def test_ram_in_bytes(text: str, value: int) -> None:
    assert ram_in_bytes(text) == value


def test_ram_in_bytes_rejects() -> None:
    with pytest.raises(ValueError, match="invalid size: 'abc'"):
        ram_in_bytes("abc")


def test_go_duration() -> None:
    assert parse_go_duration("1m30s") == 90 * 10**9
    assert parse_go_duration("500ms") == 5 * 10**8
    assert parse_go_duration("0") == 0
    with pytest.raises(ValueError):
        parse_go_duration("10")
    with pytest.raises(ValueError):
        parse_go_duration("5x")
