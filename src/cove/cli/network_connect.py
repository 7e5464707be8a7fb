"""``cove network connect``: POST /networks/{id}/connect."""

from __future__ import annotations

from cove.cli.command import Command, Context
from cove.cli.flags import LIST, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options

COMMAND = Command(
    "connect",
    "[OPTIONS] NETWORK CONTAINER",
    "Connect a container to a network",
    [
        Flag("alias", None, LIST, "Add network-scoped alias for the container"),
        Flag("driver-opt", None, LIST, "driver options for the network"),
        Flag("ip", None, STRING, 'IPv4 address (e.g., "172.30.100.104")'),
        Flag("ip6", None, STRING, 'IPv6 address (e.g., "2001:db8::33")'),
        Flag("link", None, LIST, "Add link to another container"),
    ],
    min_args=2,
    max_args=2,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    ep: dict[str, Any] = {"Aliases": opts.many("alias") or None, "Links": opts.many("link") or None}
    driver_opts = dict(o.partition("=")[::2] for o in opts.many("driver-opt"))
    if driver_opts:
        ep["DriverOpts"] = driver_opts
    ipam = {"IPv4Address": opts.text("ip"), "IPv6Address": opts.text("ip6")}
    if any(ipam.values()):
        ep["IPAMConfig"] = {k: v for k, v in ipam.items() if v}
    ctx.client.post(
        f"/networks/{args[0]}/connect", body={"Container": args[1], "EndpointConfig": ep}
    )
    return 0
