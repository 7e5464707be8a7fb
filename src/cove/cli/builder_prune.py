"""``cove builder prune``: remove the build cache (POST /build/prune).

What goes: the contents of ``RUN --mount=type=cache`` directories no build is using, and,
with ``--all``, the step cache's index too (the images of cached steps stay images, removed
by ``image prune``), as dockerd reports them: the IDs deleted and the space reclaimed.
"""

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
    "Remove build cache",
    [
        Flag("all", "a", BOOL, "Remove all unused build cache, not just dangling ones"),
        Flag("filter", None, LIST, 'Provide filter values (e.g. "until=24h")', metavar="filter"),
        Flag("force", "f", BOOL, "Do not prompt for confirmation"),
    ],
    max_args=0,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.ps import parse_filters
    from cove.cli.units import human_size

    if not opts.on("force") and not confirmed("all dangling build cache"):
        return 0
    query = {"filters": parse_filters(opts.many("filter")), "all": "1" if opts.on("all") else None}
    answer = ctx.client.post("/build/prune", query) or {}
    deleted = answer.get("CachesDeleted") or []
    if deleted:
        Context.out("Deleted build cache objects:\n" + "\n".join(deleted) + "\n")
    Context.out(f"Total reclaimed space: {human_size(answer.get('SpaceReclaimed', 0))}")
    return 0
