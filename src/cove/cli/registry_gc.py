"""``cove registry gc``: remove blobs no manifest of cove's registry references."""

from __future__ import annotations

from cove.cli.command import Command, Context
from cove.cli.flags import BOOL, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "gc",
    "[OPTIONS]",
    "Remove unreferenced blobs from a cove registry's storage (run while it is idle)",
    [
        Flag("root", None, STRING, "Storage directory", default="/var/lib/cove-registry"),
        Flag("dry-run", None, BOOL, "Only list what would be removed"),
    ],
    min_args=0,
    max_args=0,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.registry.gc import collect
    from cove.registry.storage import Storage

    gone = collect(Storage(opts.text("root")), opts.on("dry-run"))
    for d in gone:
        ctx.out(f"{'would remove' if opts.on('dry-run') else 'removed'} {d}")
    return 0
