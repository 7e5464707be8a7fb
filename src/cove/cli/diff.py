"""``cove diff``: GET /containers/{id}/changes as ``C /etc``, ``A /etc/x``, ``D /bin/ls``."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "diff",
    "CONTAINER",
    "Inspect changes to files or directories on a container's filesystem",
    min_args=1,
    max_args=1,
)
_KINDS = {0: "C", 1: "A", 2: "D"}


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    changes = ctx.client.get(f"/containers/{args[0]}/changes") or []
    sys.stdout.write("".join(f"{_KINDS.get(c.get('Kind'), '?')} {c.get('Path')}\n"
                             for c in changes))  # fmt: skip
    return 0
