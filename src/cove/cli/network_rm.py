"""``cove network rm``: DELETE /networks/{id}, one by one."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError, daemon_error
from cove.cli.flags import BOOL, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "rm",
    "NETWORK [NETWORK...]",
    "Remove one or more networks",
    [Flag("force", "f", BOOL, "Do not error if the network does not exist")],
    min_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.client.errors import APIError

    errors = []
    for name in args:
        try:
            ctx.client.delete(f"/networks/{name}")
        except APIError as e:
            if not (opts.on("force") and e.status == 404):
                errors.append(daemon_error(e.message))
            continue
        sys.stdout.write(name + "\n")
    if errors:
        raise StatusError(1, "\n".join(errors))
    return 0
