"""Go tabwriter layout and the list formatter."""

from __future__ import annotations

import pytest

from cove.cli.formatter import FormatError, render
from cove.cli.table import render as table


def test_minwidth_and_padding() -> None:
    text = table([["CONTAINER ID", "IMAGE", "NAMES"], ["0123456789ab", "busybox", "web"]])
    assert text == (
        "CONTAINER ID   IMAGE     NAMES\n"
        "0123456789ab   busybox   web\n"
    )  # fmt: skip


def test_widest_cell_wins_and_last_column_is_not_padded() -> None:
    text = table([["A", "B"], ["a-very-long-cell", "x"]])
    assert text.splitlines() == ["A".ljust(19) + "B", "a-very-long-cell   x"]


def test_empty_cells() -> None:
    assert table([["PORTS", "NAMES"], ["", "n"]]).splitlines() == ["PORTS     NAMES", "          n"]


ROWS = [{"ID": "abc", "Names": "web", "Label": lambda k: {"x": "y"}.get(k, ""), "Size": "0B"}]
HEADERS = {"ID": "CONTAINER ID", "Names": "NAMES", "Label": lambda k: k, "Size": "SIZE"}
DEFAULT = "table {{.ID}}\t{{.Names}}"


def test_default_table() -> None:
    assert render("", DEFAULT, ROWS, HEADERS) == "CONTAINER ID   NAMES\nabc            web\n"
    assert render("table", DEFAULT, ROWS, HEADERS).startswith("CONTAINER ID")


def test_custom_table_with_method_field() -> None:
    out = render('table {{.Names}}\t{{.Label "x"}}', DEFAULT, ROWS, HEADERS)
    assert out == "NAMES     x\nweb       y\n"


def test_plain_template_and_json() -> None:
    assert render("{{.ID}}:{{.Names}}", DEFAULT, ROWS, HEADERS) == "abc:web\n"
    assert render("{{.ID}}\\t{{.Names}}", DEFAULT, ROWS, HEADERS) == "abc\tweb\n"
    assert render("json", DEFAULT, ROWS, HEADERS) == '{"ID":"abc","Names":"web","Size":"0B"}\n'


def test_json_escapes_html_like_go() -> None:
    rows = [{"Repository": "<none>"}]
    assert render("json", "", rows, {}) == '{"Repository":"\\u003cnone\\u003e"}\n'


def test_unknown_field_is_an_error() -> None:
    with pytest.raises(FormatError, match="Nope"):
        render("{{.Nope}}", DEFAULT, ROWS, HEADERS)
