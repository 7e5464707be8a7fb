"""``cove volume create``: POST /volumes/create; prints the volume's name."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import LIST, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "create",
    "[OPTIONS] [VOLUME]",
    "Create a volume",
    [
        Flag("driver", "d", STRING, "Specify volume driver name", default="local"),
        Flag("label", None, LIST, "Set metadata for a volume"),
        Flag("name", None, STRING, "Specify volume name"),
        Flag("opt", "o", LIST, "Set driver specific options", metavar="map"),
    ],
    max_args=1,
)


def _pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    name = opts.text("name")
    if args:
        if name and name != args[0]:
            raise StatusError(
                1,
                "Conflicting options: either specify --name or provide positional arg, not both",
            )
        name = args[0]
    body = {
        "Name": name,
        "Driver": opts.text("driver") or "local",
        "DriverOpts": _pairs(opts.many("opt")),
        "Labels": _pairs(opts.many("label")),
    }
    vol = ctx.client.post("/volumes/create", None, body)
    sys.stdout.write(vol["Name"] + "\n")
    return 0
