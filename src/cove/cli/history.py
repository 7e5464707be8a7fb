"""``cove history``: an image's layers (GET /images/{name}/history)."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, STRING, Flag
from cove.cli.units import ago, ellipsis, human_size, truncate_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options

COMMAND = Command(
    "history",
    "[OPTIONS] IMAGE",
    "Show the history of an image",
    [
        Flag("format", None, STRING, "Format output using a custom template"),
        Flag("human", "H", BOOL, "Print sizes and dates in human readable format", default=True),
        Flag("no-trunc", None, BOOL, "Don't truncate output"),
        Flag("platform", None, STRING, "Show history for the given platform"),
        Flag("quiet", "q", BOOL, "Only show image IDs"),
    ],
    min_args=1,
    max_args=1,
)

HEADERS = {
    "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
    "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT",
}  # fmt: skip


def row(h: dict[str, Any], human: bool, trunc: bool, now: float) -> dict[str, Any]:
    from cove.util.timefmt import rfc3339_local

    ident = h.get("Id") or "<missing>"
    if trunc and ident != "<missing>":
        ident = truncate_id(ident)
    created = h.get("Created", 0)
    created_at = rfc3339_local(created)
    by = (h.get("CreatedBy") or "").replace("\t", " ")
    return {
        "ID": ident,
        "CreatedSince": ago(created, now) if human else created_at,
        "CreatedAt": created_at,
        "CreatedBy": ellipsis(by, 45) if trunc else by,
        "Size": human_size(h.get("Size") or 0) if human else str(h.get("Size") or 0),
        "Comment": h.get("Comment", ""),
        "Tags": ", ".join(h.get("Tags") or []),
    }


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    import time

    from cove.cli.formatter import FormatError, render

    query = {"platform": opts.text("platform") or None}
    layers = ctx.client.get(f"/images/{args[0]}/history", query) or []
    human, trunc = opts.on("human"), not opts.on("no-trunc")
    now = time.time()
    rows = [row(h, human, trunc, now) for h in layers]
    if opts.on("quiet"):
        sys.stdout.write("".join(r["ID"] + "\n" for r in rows))
        return 0
    created = "{{.CreatedSince}}" if human else "{{.CreatedAt}}"
    default = f"table {{{{.ID}}}}\t{created}\t{{{{.CreatedBy}}}}\t{{{{.Size}}}}\t{{{{.Comment}}}}"
    try:
        sys.stdout.write(render(opts.text("format"), default, rows, HEADERS))
    except FormatError as e:
        raise StatusError(1, str(e)) from None
    return 0
