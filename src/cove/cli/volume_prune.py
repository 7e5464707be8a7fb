"""``cove volume prune``: POST /volumes/prune (anonymous volumes unless ``-a``)."""

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
    "Remove unused local volumes",
    [
        Flag("all", "a", BOOL, "Remove all unused volumes, not just anonymous ones"),
        Flag("filter", None, LIST, 'Provide filter values (e.g. "label=<label>")'),
        Flag("force", "f", BOOL, "Do not prompt for confirmation"),
    ],
    max_args=0,
)


def _size(n: int) -> str:
    """go-units' HumanSize: four significant digits, decimal units."""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.4g}{unit}"
        size /= 1000
    return f"{size:.4g}TB"


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.ps import parse_filters

    if not opts.on("force"):
        what = "all local volumes" if opts.on("all") else "anonymous local volumes"
        if not confirmed(f"{what} not used by at least one container"):
            return 0
    specs = opts.many("filter") + (["all=true"] if opts.on("all") else [])
    try:
        filters = parse_filters(specs)
    except ValueError as e:
        raise StatusError(125, str(e)) from None
    reply = ctx.client.post("/volumes/prune", {"filters": filters} if filters else None) or {}
    gone = reply.get("VolumesDeleted") or []
    if gone:
        sys.stdout.write("Deleted Volumes:\n" + "".join(n + "\n" for n in gone) + "\n")
    sys.stdout.write(f"Total reclaimed space: {_size(int(reply.get('SpaceReclaimed') or 0))}\n")
    return 0
