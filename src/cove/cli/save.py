"""``cove save``: GET /images/get?names=.. as a docker-archive, to ``-o FILE`` or stdout."""

from __future__ import annotations

from cove.cli.command import Command, Context
from cove.cli.flags import STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "save",
    "[OPTIONS] IMAGE [IMAGE...]",
    "Save one or more images to a tar archive (streamed to STDOUT by default)",
    [
        Flag("output", "o", STRING, "Write to a file, instead of STDOUT"),
        Flag("platform", None, STRING, "Save only the given platform variant"),
    ],
    min_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.tarout import stream_tar

    stream_tar(ctx.client, "/images/get", {"names": list(args)}, opts.text("output"))
    return 0
