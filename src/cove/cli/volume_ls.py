"""``cove volume ls``: GET /volumes."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, LIST, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "ls",
    "[OPTIONS]",
    "List volumes",
    [
        Flag(
            "cluster",
            None,
            BOOL,
            "Display only cluster volumes, and use cluster volume list formatting",
        ),
        Flag("filter", "f", LIST, 'Provide filter values (e.g. "dangling=true")'),
        Flag("format", None, STRING, "Format output using a custom template"),
        Flag("quiet", "q", BOOL, "Only display volume names"),
    ],
    max_args=0,
)
DEFAULT = "table {{.Driver}}\t{{.Name}}"
HEADERS = {"Driver": "DRIVER", "Name": "VOLUME NAME", "Scope": "SCOPE",
           "Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "Links": "LINKS",
           "Size": "SIZE", "CreatedAt": "CREATED AT"}  # fmt: skip


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.ps import parse_filters

    try:
        filters = parse_filters(opts.many("filter"))
    except ValueError as e:
        raise StatusError(125, str(e)) from None
    reply = ctx.client.get("/volumes", {"filters": filters} if filters else None) or {}
    vols = sorted(reply.get("Volumes") or [], key=lambda v: v["Name"])
    rows = [
        {
            "Driver": v["Driver"],
            "Name": v["Name"],
            "Scope": v.get("Scope", "local"),
            "Mountpoint": v.get("Mountpoint", ""),
            "Labels": ",".join(f"{k}={x}" for k, x in (v.get("Labels") or {}).items()),
            "Links": "N/A",
            "Size": "N/A",
            "CreatedAt": v.get("CreatedAt", ""),
        }
        for v in vols
    ]
    if opts.on("quiet"):
        sys.stdout.write("".join(r["Name"] + "\n" for r in rows))
        return 0
    from cove.cli.formatter import FormatError, render

    try:
        sys.stdout.write(render(opts.text("format"), DEFAULT, rows, HEADERS))
    except FormatError as e:
        raise StatusError(1, str(e)) from None
    return 0
