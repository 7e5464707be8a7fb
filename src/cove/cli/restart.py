"""``cove restart``: POST /containers/{id}/restart for each container."""

from __future__ import annotations

from cove.cli.command import Command, Context
from cove.cli.multi import each
from cove.cli.stop import COMMAND as STOP
from cove.cli.stop import stop_query

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "restart",
    "[OPTIONS] CONTAINER [CONTAINER...]",
    "Restart one or more containers",
    STOP.flags,
    min_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    query = stop_query(opts)
    return each(args, lambda n: ctx.client.post(f"/containers/{n}/restart", query))
