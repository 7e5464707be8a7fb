"""``cove port``: the published ports of a container, from its inspect document."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "port",
    "CONTAINER [PRIVATE_PORT[/PROTO]]",
    "List port mappings or a specific mapping for the container",
    min_args=1,
    max_args=2,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    info = ctx.client.get(f"/containers/{args[0]}/json")
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    if len(args) == 2:
        want = args[1] if "/" in args[1] else args[1] + "/tcp"
        binds = ports.get(want)
        if not binds:
            raise StatusError(1, f"Error: No public port '{want}' published for {args[0]}")
        sys.stdout.write("".join(f"{b['HostIp']}:{b['HostPort']}\n" for b in binds))
        return 0

    def order(key: str) -> tuple[int, str]:
        p, _, proto = key.partition("/")
        return (int(p), proto)

    for key in sorted(ports, key=order):
        for b in ports[key] or []:
            sys.stdout.write(f"{key} -> {b['HostIp']}:{b['HostPort']}\n")
    return 0
