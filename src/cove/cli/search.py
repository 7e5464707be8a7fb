"""``cove search``: GET /images/search, shown as docker's search table."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, INT, LIST, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options

COMMAND = Command(
    "search",
    "[OPTIONS] TERM",
    "Search Docker Hub for images",
    [
        Flag("filter", "f", LIST, "Filter output based on conditions provided", metavar="filter"),
        Flag("format", None, STRING, "Pretty-print search using a Go template"),
        Flag("limit", None, INT, "Max number of search results", default=0),
        Flag("no-trunc", None, BOOL, "Don't truncate output"),
    ],
    min_args=1,
    max_args=1,
)
DEFAULT = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"
HEADERS = {
    "Name": "NAME",
    "Description": "DESCRIPTION",
    "StarCount": "STARS",
    "IsOfficial": "OFFICIAL",
    "IsAutomated": "AUTOMATED",
}


def rows_for(results: list[dict[str, Any]], trunc: bool) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        desc = " ".join(str(r.get("description") or "").split("\n"))
        if trunc and len(desc) > 45:
            desc = desc[:44] + "…"
        rows.append(
            {
                "Name": r.get("name", ""),
                "Description": desc,
                "StarCount": str(r.get("star_count", 0)),
                "IsOfficial": "[OK]" if r.get("is_official") else "",
                "IsAutomated": "[OK]" if r.get("is_automated") else "",
            }
        )
    return rows


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.credentials import registry_auth_header
    from cove.cli.formatter import FormatError, render
    from cove.cli.ps import parse_filters

    try:
        filters = parse_filters(opts.many("filter"))
    except ValueError as e:
        raise StatusError(125, str(e)) from None
    term = args[0]
    first = term.split("/", 1)[0] if "/" in term else ""
    server = first if ("." in first or ":" in first or first == "localhost") else ""
    q: dict[str, Any] = {"term": term, "limit": opts.number("limit") or None, "filters": filters}
    resp = ctx.client.open(
        "GET", "/images/search", q, headers=[("X-Registry-Auth", registry_auth_header(server))]
    )
    try:
        from cove.client import jsonlite

        results = jsonlite.loads(resp.read() or b"[]")
    finally:
        resp.close()
    try:
        text = render(opts.text("format"), DEFAULT, rows_for(results, not opts.on("no-trunc")),
                      HEADERS)  # fmt: skip
    except FormatError as e:
        raise StatusError(1, str(e)) from None
    sys.stdout.write(text)
    return 0
