"""``cove rm``: DELETE /containers/{id}; with -f a missing container is reported, not fatal."""

from __future__ import annotations

from cove.cli.command import Command, Context
from cove.cli.flags import BOOL, Flag
from cove.cli.multi import each

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "rm",
    "[OPTIONS] CONTAINER [CONTAINER...]",
    "Remove one or more containers",
    [
        Flag("force", "f", BOOL, "Force the removal of a running container (uses SIGKILL)"),
        Flag("link", "l", BOOL, "Remove the specified link"),
        Flag("volumes", "v", BOOL, "Remove anonymous volumes associated with the container"),
    ],
    min_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    query = {"force": opts.on("force"), "v": opts.on("volumes"), "link": opts.on("link")}
    names = [a.strip("/") for a in args]
    return each(
        names,
        lambda n: ctx.client.delete(f"/containers/{n}", query),
        ignore_not_found=opts.on("force"),
    )
