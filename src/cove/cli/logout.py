"""``cove logout``: forget the stored credentials for a registry."""

from __future__ import annotations

from cove.cli.command import Command, Context

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "logout",
    "[SERVER]",
    "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.",
    min_args=0,
    max_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli import credentials

    server = credentials.server_key(args[0] if args else "")
    if credentials.remove(server):
        ctx.out(f"Removing login credentials for {server}")
    else:
        ctx.out(f"Not logged in to {server}")
    return 0
