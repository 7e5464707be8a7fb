"""``cove rename``: POST /containers/{id}/rename?name=NEW."""

from __future__ import annotations

from cove.cli.command import Command, Context, StatusError, daemon_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command("rename", "CONTAINER NEW_NAME", "Rename a container", min_args=2, max_args=2)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.client.errors import APIError

    old, new = args[0].strip(), args[1].strip()
    if not old or not new:
        raise StatusError(1, "Error: neither old nor new names may be empty")
    try:
        ctx.client.post(f"/containers/{old}/rename", {"name": new})
    except APIError as e:
        raise StatusError(
            1, f"{daemon_error(e.message)}\nError: failed to rename container named {old}"
        ) from None
    return 0
