"""``cove image prune``: POST /images/prune (dangling images; ``-a``: all unused ones)."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.confirm import confirmed
from cove.cli.flags import BOOL, LIST, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "prune",
    "[OPTIONS]",
    "Remove unused images",
    [
        Flag("all", "a", BOOL, "Remove all unused images, not just dangling ones"),
        Flag("filter", None, LIST, 'Provide filter values (e.g. "until=<timestamp>")'),
        Flag("force", "f", BOOL, "Do not prompt for confirmation"),
    ],
    max_args=0,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.ps import parse_filters
    from cove.cli.units import human_size

    if not opts.on("force"):
        what = (
            "all images without at least one container associated to them"
            if opts.on("all")
            else "all dangling images"
        )
        if not confirmed(what):
            return 0
    specs = list(opts.many("filter"))
    if opts.on("all"):
        specs.append("dangling=false")
    try:
        filters = parse_filters(specs)
    except ValueError as e:
        raise StatusError(125, str(e)) from None
    reply = ctx.client.post("/images/prune", {"filters": filters} if filters else None) or {}
    gone = reply.get("ImagesDeleted") or []
    if gone:
        lines = ["Deleted Images:"]
        for item in gone:
            if item.get("Untagged"):
                lines.append(f"untagged: {item['Untagged']}")
            if item.get("Deleted"):
                lines.append(f"deleted: {item['Deleted']}")
        sys.stdout.write("\n".join(lines) + "\n\n")
    sys.stdout.write(f"Total reclaimed space: {human_size(reply.get('SpaceReclaimed') or 0)}\n")
    return 0
