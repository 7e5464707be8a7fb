"""JSON progress streams shown as docker's jsonmessage does."""

from __future__ import annotations

import io

import pytest

from cove.cli.progress import StreamError, display, progress_text

MESSAGES = [
    b'{"status":"Pulling from busybox","id":"latest"}',
    b'{"status":"Pulling fs layer","progressDetail":{},"id":"12e40910437f"}',
    b'{"status":"Downloading","progressDetail":{"current":32768,"total":1069000},'
    b'"progress":"[=>   ]","id":"12e40910437f"}',
    b'{"status":"Pull complete","progressDetail":{},"id":"12e40910437f"}',
    b'{"status":"Digest: sha256:abc"}',
]


def test_not_a_terminal_skips_byte_counters() -> None:
    out = io.StringIO()
    display(MESSAGES, out, tty=False)
    assert out.getvalue() == (
        "latest: Pulling from busybox\n"
        "12e40910437f: Pulling fs layer\n"
        "12e40910437f: Pull complete\n"
        "Digest: sha256:abc\n"
    )


def test_terminal_redraws_layer_lines() -> None:
    out = io.StringIO()
    display(MESSAGES[:3], out, tty=True)
    assert out.getvalue() == (
        "latest: Pulling from busybox\n"
        "\n\x1b[1A\x1b[2K\r12e40910437f: Pulling fs layer \r\x1b[1B"
        "\x1b[1A\x1b[2K\r12e40910437f: Downloading  32.77kB/1.069MB\r\x1b[1B"
    )


def test_progress_bar_on_wide_terminals() -> None:
    text = progress_text({"current": 534500, "total": 1069000}, width=150)
    assert text == "[" + "=" * 25 + ">" + " " * 25 + "]  534.5kB/1.069MB"
    assert progress_text({"current": 5, "total": 0}) == "      5B"
    assert progress_text({}) == ""


def test_error_in_stream() -> None:
    with pytest.raises(StreamError, match="manifest unknown"):
        display([b'{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}'],
                io.StringIO(), tty=False)  # fmt: skip


def test_aux_goes_to_callback() -> None:
    seen: list[object] = []
    display([b'{"aux":{"ID":"sha256:x"}}'], io.StringIO(), tty=False, on_aux=seen.append)
    assert seen == [{"ID": "sha256:x"}]
