"""``cove network ls``: GET /networks."""

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
    "List networks",
    [
        Flag("filter", "f", LIST, 'Provide filter values (e.g. "driver=bridge")'),
        Flag("format", None, STRING, "Format output using a custom template"),
        Flag("no-trunc", None, BOOL, "Do not truncate the output"),
        Flag("quiet", "q", BOOL, "Only display network IDs"),
    ],
    max_args=0,
)
DEFAULT = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
HEADERS = {
    "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
    "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
}  # fmt: skip


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.ps import parse_filters

    try:
        filters = parse_filters(opts.many("filter"))
    except ValueError as e:
        raise StatusError(125, str(e)) from None
    nets = ctx.client.get("/networks", {"filters": filters}) or []
    nets.sort(key=lambda n: n["Name"])
    trunc = not opts.on("no-trunc")
    rows = [
        {
            "ID": n["Id"][:12] if trunc else n["Id"],
            "Name": n["Name"],
            "Driver": n["Driver"],
            "Scope": n["Scope"],
            "IPv6": str(bool(n.get("EnableIPv6"))).lower(),
            "Internal": str(bool(n.get("Internal"))).lower(),
            "Labels": ",".join(f"{k}={v}" for k, v in (n.get("Labels") or {}).items()),
            "CreatedAt": n.get("Created", ""),
        }
        for n in nets
    ]
    if opts.on("quiet"):
        sys.stdout.write("".join(r["ID"] + "\n" for r in rows))
        return 0
    from cove.cli.formatter import FormatError, render

    try:
        sys.stdout.write(render(opts.text("format"), DEFAULT, rows, HEADERS))
    except FormatError as e:
        raise StatusError(1, str(e)) from None
    return 0
