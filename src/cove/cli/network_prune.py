"""``cove network prune``: POST /networks/prune."""

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
    "Remove all unused networks",
    [
        Flag("filter", None, LIST, 'Provide filter values (e.g. "until=<timestamp>")'),
        Flag("force", "f", BOOL, "Do not prompt for confirmation"),
    ],
    max_args=0,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.ps import parse_filters

    if not opts.on("force") and not confirmed(
        "all custom networks not used by at least one container"
    ):
        return 0
    try:
        filters = parse_filters(opts.many("filter"))
    except ValueError as e:
        raise StatusError(125, str(e)) from None
    reply = ctx.client.post("/networks/prune", {"filters": filters} if filters else None)
    gone = (reply or {}).get("NetworksDeleted") or []
    if gone:
        sys.stdout.write("Deleted Networks:\n" + "".join(n + "\n" for n in gone))
    return 0
