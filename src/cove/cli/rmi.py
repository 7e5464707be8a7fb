"""``cove rmi``: DELETE /images/{name} for each image, printing what was untagged/deleted."""

from __future__ import annotations

from cove.cli.command import Command, Context, StatusError, daemon_error
from cove.cli.flags import BOOL, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "rmi",
    "[OPTIONS] IMAGE [IMAGE...]",
    "Remove one or more images",
    [
        Flag("force", "f", BOOL, "Force removal of the image"),
        Flag("no-prune", None, BOOL, "Do not delete untagged parents"),
    ],
    min_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.client.errors import APIError

    query = {"force": opts.on("force"), "noprune": opts.on("no-prune")}
    errors = []
    for name in args:
        try:
            items = ctx.client.delete(f"/images/{name}", query) or []
        except APIError as e:
            errors.append(daemon_error(e.message))
            continue
        for item in items:
            if item.get("Untagged"):
                ctx.out(f"Untagged: {item['Untagged']}")
            if item.get("Deleted"):
                ctx.out(f"Deleted: {item['Deleted']}")
    if errors:
        raise StatusError(1, "\n".join(errors))
    return 0
