"""``cove stop``: POST /containers/{id}/stop for each container."""

from __future__ import annotations

from cove.cli.command import Command, Context
from cove.cli.flags import INT, STRING, Flag
from cove.cli.multi import each

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "stop",
    "[OPTIONS] CONTAINER [CONTAINER...]",
    "Stop one or more running containers",
    [
        Flag("signal", "s", STRING, "Signal to send to the container"),
        Flag("time", None, INT, "", hidden=True),
        Flag("timeout", "t", INT, "Seconds to wait before killing the container"),
    ],
    min_args=1,
)


def stop_query(opts: Options) -> dict[str, str | int | None]:
    timeout = None
    if opts.given("timeout"):
        timeout = opts.number("timeout")
    elif opts.given("time"):
        timeout = opts.number("time")
    return {"signal": opts.text("signal") or None, "t": timeout}


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    query = stop_query(opts)
    return each(args, lambda n: ctx.client.post(f"/containers/{n}/stop", query))
