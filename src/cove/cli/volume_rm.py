"""``cove volume rm``: DELETE /volumes/{name}, one by one."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError, daemon_error
from cove.cli.flags import BOOL, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "rm",
    "[OPTIONS] VOLUME [VOLUME...]",
    "Remove one or more volumes",
    [Flag("force", "f", BOOL, "Force the removal of one or more volumes")],
    min_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.client.errors import APIError

    errors = []
    for name in args:
        try:
            ctx.client.delete(f"/volumes/{name}", {"force": opts.on("force")})
        except APIError as e:
            errors.append(daemon_error(e.message))
            continue
        sys.stdout.write(name + "\n")
    if errors:
        raise StatusError(1, "\n".join(errors))
    return 0
