"""``cove container prune``: remove all stopped containers (POST /containers/prune)."""

from __future__ import annotations

from cove.cli.command import Command, Context
from cove.cli.confirm import confirmed
from cove.cli.flags import BOOL, LIST, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "prune",
    "[OPTIONS]",
    "Remove all stopped containers",
    [
        Flag(
            "filter",
            None,
            LIST,
            'Provide filter values (e.g. "until=<timestamp>")',
            metavar="filter",
        ),
        Flag("force", "f", BOOL, "Do not prompt for confirmation"),
    ],
    max_args=0,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.ps import parse_filters
    from cove.cli.units import human_size

    if not opts.on("force") and not confirmed("all stopped containers"):
        return 0
    answer = ctx.client.post("/containers/prune", {"filters": parse_filters(opts.many("filter"))})
    deleted = (answer or {}).get("ContainersDeleted") or []
    if deleted:
        Context.out("Deleted Containers:\n" + "\n".join(deleted) + "\n")
    Context.out(f"Total reclaimed space: {human_size((answer or {}).get('SpaceReclaimed', 0))}")
    return 0
