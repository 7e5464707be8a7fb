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


def _ipam_config(opts: Options) -> list[dict[str, Any]]:
    """``--subnet`` entries with the ``--gateway``, ``--ip-range`` and ``--aux-address`` that
    fall inside each, matched by address as the docker CLI does (so ``--subnet 10.1.0.0/24
    --subnet fd00::/64 --gateway fd00::1`` gives the gateway to the IPv6 subnet)."""
    import ipaddress

    subnets, gateways, ranges = opts.many("subnet"), opts.many("gateway"), opts.many("ip-range")
    if len(gateways) > len(subnets) or len(ranges) > len(subnets):
        raise StatusError(1, "Error: every ip-range or gateway must have a corresponding subnet")

    def net(text: str) -> Any:
        try:
            return ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise StatusError(1, f"Error: invalid CIDR address: {text}") from None

    def addr(text: str) -> Any:
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            raise StatusError(1, f"Error: invalid IP address: {text}") from None

    config: list[dict[str, Any]] = [{"Subnet": s} for s in subnets]
    nets = [net(s) for s in subnets]

    def home(x: Any, what: str, text: str) -> dict[str, Any]:
        """The config whose subnet holds ``x`` (an address, or a range: a network)."""
        for c, n in zip(config, nets, strict=True):
            if x.version == n.version and (x.subnet_of(n) if what == "range" else x in n):
                return c
        raise StatusError(1, f"Error: no matching subnet for {what} {text}")

    # each range and gateway goes to the one subnet that holds it, at most one per subnet
    for texts, key, what, parse, where in (
        (ranges, "IPRange", "range", net, "on"),
        (gateways, "Gateway", "gateway", addr, "for"),
    ):
        for text in texts:
            c = home(parse(text), what, text)
            if key in c:
                why = f"multiple {what}s ({text}, {c[key]}) {where} the same subnet ({c['Subnet']})"
                raise StatusError(1, f"Error: cannot configure {why}")
            c[key] = text
    for aux in opts.many("aux-address"):
        key, _, ip = aux.partition("=")
        c = home(addr(ip), "aux-address", ip)
        c.setdefault("AuxiliaryAddresses", {})[key] = ip
    return config


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    config = _ipam_config(opts)
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
