"""``cove network disconnect``: POST /networks/{id}/disconnect."""

from __future__ import annotations

from cove.cli.command import Command, Context
from cove.cli.flags import BOOL, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "disconnect",
    "[OPTIONS] NETWORK CONTAINER",
    "Disconnect a container from a network",
    [Flag("force", "f", BOOL, "Force the container to disconnect from a network")],
    min_args=2,
    max_args=2,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    body = {"Container": args[1], "Force": opts.on("force")}
    ctx.client.post(f"/networks/{args[0]}/disconnect", body=body)
    return 0
