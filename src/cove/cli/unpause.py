"""``cove unpause``: POST /containers/{id}/unpause for each container."""

from __future__ import annotations

from cove.cli.command import Command, Context
from cove.cli.multi import each

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "unpause",
    "CONTAINER [CONTAINER...]",
    "Unpause all processes within one or more containers",
    min_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    return each(args, lambda n: ctx.client.post(f"/containers/{n}/unpause"))
