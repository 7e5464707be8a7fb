"""``cove top``: the processes of a container (GET /containers/{id}/top)."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context
from cove.cli.table import render

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "top",
    "CONTAINER [ps OPTIONS]",
    "Display the running processes of a container",
    min_args=1,
    interspersed=False,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    query = {"ps_args": " ".join(args[1:]) or None}
    answer = ctx.client.get(f"/containers/{args[0]}/top", query) or {}
    rows = [answer.get("Titles") or []] + [list(p) for p in answer.get("Processes") or []]
    sys.stdout.write(render(rows, minwidth=20, padding=3))
    return 0
