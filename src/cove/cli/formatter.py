"""``--format`` for list commands (ps, images, history), as docker's formatter package does it.

A format is ``table`` (the command's default columns), ``table TEMPLATE`` (a template laid out
by the tab writer under a header row), ``json`` (each row as one JSON object) or any other
TEMPLATE printed as is, one line per row.  Rows are dicts of the context's fields; the header
row is the same template run over the column titles.
"""

from __future__ import annotations

from cove.cli.table import render as render_table
from cove.cli.table import render_template_rows
from cove.client import jsonlite as json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from cove.cli.tmpl import Template


class FormatError(Exception):
    pass


def _simple(src: str, rows: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """Field names when ``src`` is only ``{{.A}}\t{{.B}}...`` over known fields (the default
    tables): then the template engine is not even imported."""
    names = []
    for part in src.split("\t"):
        name = part[3:-2]
        if not (part.startswith("{{.") and part.endswith("}}") and name.isidentifier()):
            return None
        names.append(name)
    if any(n not in row or callable(row[n]) for row in rows for n in names):
        return None
    return names


def _compile(src: str) -> Template:
    from cove.cli.tmpl import Template
    from cove.cli.tmpl_parse import TemplateError

    try:
        return Template(src, strict=True)
    except TemplateError as e:
        raise FormatError(f"template parsing error: {e}") from e


def _run(t: Template, data: Any) -> str:
    from cove.cli.tmpl_parse import TemplateError

    try:
        return t.execute(data)
    except TemplateError as e:
        msg = str(e).replace('map has no entry for key "', "can't evaluate field ")
        raise FormatError(msg.rstrip('"')) from e


def render(
    fmt: str,
    default_table: str,
    rows: Sequence[Mapping[str, Any]],
    headers: Mapping[str, Any],
    json_fields: Sequence[str] = (),
) -> str:
    """The whole output, newline-terminated; FormatError for a bad template."""
    if fmt in ("", "table"):
        fmt = default_table
    if fmt == "json":
        lines = []
        for row in rows:
            obj = {k: row[k] for k in sorted(json_fields or row) if not callable(row[k])}
            text = json.dumps(obj)  # Go's json.Marshal escapes HTML characters
            text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            lines.append(text + "\n")
        return "".join(lines)
    table = fmt.startswith("table")
    body = fmt[len("table") :].lstrip() if table else fmt
    body = body.replace("\\t", "\t").replace("\\n", "\n")
    names = _simple(body, [headers, *rows])
    if names is not None:
        cells = [[str(r[n]) if r[n] is not None else "<nil>" for n in names] for r in rows]
        if not table:
            return "".join("\t".join(c) + "\n" for c in cells)
        return render_table([[str(headers[n]) for n in names], *cells])
    t = _compile(body)
    if not table:
        return "".join(_run(t, row) + "\n" for row in rows)
    lines = [_run(t, headers)] + [_run(t, row) for row in rows]
    return render_template_rows(lines)
