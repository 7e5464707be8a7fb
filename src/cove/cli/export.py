"""``cove export``: GET /containers/{id}/export, the container's filesystem as a tar."""

from __future__ import annotations

from cove.cli.command import Command, Context
from cove.cli.flags import STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "export",
    "[OPTIONS] CONTAINER",
    "Export a container's filesystem as a tar archive",
    [Flag("output", "o", STRING, "Write to a file, instead of STDOUT")],
    min_args=1,
    max_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.tarout import stream_tar

    stream_tar(ctx.client, f"/containers/{args[0]}/export", None, opts.text("output"))
    return 0
