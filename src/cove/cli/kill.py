"""``cove kill``: POST /containers/{id}/kill for each container."""

from __future__ import annotations

from cove.cli.command import Command, Context
from cove.cli.flags import STRING, Flag
from cove.cli.multi import each

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "kill",
    "[OPTIONS] CONTAINER [CONTAINER...]",
    "Kill one or more running containers",
    [Flag("signal", "s", STRING, "Signal to send to the container")],
    min_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    query = {"signal": opts.text("signal") or None}
    return each(args, lambda n: ctx.client.post(f"/containers/{n}/kill", query))
