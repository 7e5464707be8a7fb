"""``cove network create``: POST /networks/create."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, LIST, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options

COMMAND = Command(
    "create",
    "[OPTIONS] NETWORK",
    "Create a network",
    [
        Flag("attachable", None, BOOL, "Enable manual container attachment"),
        Flag("aux-address", None, LIST, "Auxiliary IPv4 or IPv6 addresses used by Network driver"),
        Flag("driver", "d", STRING, "Driver to manage the Network", default="bridge"),
        Flag("gateway", None, LIST, "IPv4 or IPv6 Gateway for the master subnet"),
        Flag("internal", None, BOOL, "Restrict external access to the network"),
        Flag("ip-range", None, LIST, "Allocate container ip from a sub-range"),
        Flag("ipam-driver", None, STRING, "IP Address Management Driver", default="default"),
        Flag("ipv6", None, BOOL, "Enable or disable IPv6 networking"),
        Flag("label", None, LIST, "Set metadata on a network"),
        Flag("opt", "o", LIST, "Set driver specific options"),
        Flag("subnet", None, LIST, "Subnet in CIDR format that represents a network segment"),
    ],
    min_args=1,
    max_args=1,
)


def _pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    subnets, gateways, ranges = opts.many("subnet"), opts.many("gateway"), opts.many("ip-range")
    if len(gateways) > len(subnets) or len(ranges) > len(subnets):
        raise StatusError(1, "Error: every ip-range or gateway must have a corresponding subnet")
    config: list[dict[str, Any]] = []
    for i, subnet in enumerate(subnets):
        c: dict[str, Any] = {"Subnet": subnet}
        if i < len(gateways):
            c["Gateway"] = gateways[i]
        if i < len(ranges):
            c["IPRange"] = ranges[i]
        config.append(c)
    body = {
        "Name": args[0],
        "Driver": opts.text("driver") or "bridge",
        "Internal": opts.on("internal"),
        "Attachable": opts.on("attachable"),
        "EnableIPv6": opts.on("ipv6"),
        "IPAM": {"Driver": opts.text("ipam-driver") or "default", "Config": config, "Options": {}},
        "Options": _pairs(opts.many("opt")),
        "Labels": _pairs(opts.many("label")),
    }
    reply = ctx.client.post("/networks/create", body=body)
    sys.stdout.write(str(reply["Id"]) + "\n")
    return 0
