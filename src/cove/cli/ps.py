"""``cove ps``: list containers (GET /containers/json) in docker's table."""

from __future__ import annotations

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, INT, LIST, STRING, Flag
from cove.cli.units import ago, ellipsis, go_quote, go_time, human_size, truncate_id
from cove.client import jsonlite as json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options

COMMAND = Command(
    "ps",
    "[OPTIONS]",
    "List containers",
    [
        Flag("all", "a", BOOL, "Show all containers (default shows just running)"),
        Flag("filter", "f", LIST, "Filter output based on conditions provided", metavar="filter"),
        Flag("format", None, STRING, "Format output using a custom template"),
        Flag("last", "n", INT, "Show n last created containers (includes all states)", default=-1),
        Flag("latest", "l", BOOL, "Show the latest created container (includes all states)"),
        Flag("no-trunc", None, BOOL, "Don't truncate output"),
        Flag("quiet", "q", BOOL, "Only display container IDs"),
        Flag("size", "s", BOOL, "Display total file sizes"),
    ],
    max_args=0,
)

DEFAULT = (
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
)
HEADERS = {
    "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS",
    "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS", "Platform": "PLATFORM",
    "Label": lambda name: name,
}  # fmt: skip


def parse_filters(specs: list[str]) -> str | None:
    """``-f status=exited -f name=x`` -> docker's filters JSON; ValueError on a bad one."""
    if not specs:
        return None
    out: dict[str, dict[str, bool]] = {}
    for spec in specs:
        key, eq, value = spec.partition("=")
        if not eq:
            raise ValueError("bad format of filter (expected name=value)")
        out.setdefault(key.strip().lower(), {})[value] = True
    return json.dumps(out)


def _port_key(p: dict[str, Any]) -> tuple[Any, ...]:
    return (p.get("PrivatePort", 0), p.get("PublicPort", 0), p.get("Type", ""), p.get("IP", ""))


def _host_port(ip: str, port: str) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def display_ports(ports: list[dict[str, Any]]) -> str:
    """Docker's ``DisplayablePorts``: ranges folded, ``0.0.0.0:8080->80/tcp``."""
    groups: dict[str, list[int]] = {}
    order: list[str] = []
    result: list[str] = []
    mappings: list[str] = []

    def form(key: str, first: int, last: int) -> str:
        ip, _, proto = key.rpartition("/")
        text = str(first) if first == last else f"{first}-{last}"
        if ip:
            return f"{_host_port(ip, text)}->{text}/{proto}"
        return f"{text}/{proto}"

    for p in sorted(ports or [], key=_port_key):
        private = int(p.get("PrivatePort", 0))
        public = int(p.get("PublicPort", 0) or 0)
        proto = p.get("Type", "tcp")
        key = proto
        if p.get("IP"):
            if public != private:
                hp = _host_port(p["IP"], str(public))
                mappings.append(f"{hp}->{private}/{proto}")
                continue
            key = f"{p['IP']}/{proto}"
        g = groups.get(key)
        if g is None:
            groups[key] = [private, private]
            order.append(key)
        elif private == g[1] + 1:
            g[1] = private
        else:
            result.append(form(key, g[0], g[1]))
            groups[key] = [private, private]
    result += [form(k, *groups[k]) for k in order]
    return ", ".join(result + mappings)


def row(c: dict[str, Any], trunc: bool, now: float) -> dict[str, Any]:
    names = [n[1:] if n.startswith("/") else n for n in c.get("Names") or []]
    if trunc:
        names = [n for n in names if "/" not in n]
    command = c.get("Command", "")
    image = c.get("Image") or "<no image>"
    if trunc:
        if truncate_id(c.get("ImageID", "")) == truncate_id(image):
            image = truncate_id(image)
        elif "@" in image:
            image = image.split("@", 1)[0]
    labels = c.get("Labels") or {}
    size = human_size(c.get("SizeRw") or 0)
    if c.get("SizeRootFs"):
        size += f" (virtual {human_size(c['SizeRootFs'])})"
    mounts = [m.get("Name") or m.get("Source", "") for m in c.get("Mounts") or []]
    networks = (c.get("NetworkSettings") or {}).get("Networks") or {}
    return {
        "ID": truncate_id(c["Id"]) if trunc else c["Id"],
        "Image": image,
        "Command": go_quote(ellipsis(command, 20) if trunc else command),
        "CreatedAt": go_time(c.get("Created", 0)),
        "RunningFor": ago(c.get("Created", 0), now),
        "Ports": display_ports(c.get("Ports") or []),
        "State": c.get("State", ""),
        "Status": c.get("Status", ""),
        "Size": size,
        "Names": ",".join(names),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "Label": lambda name: labels.get(name, ""),
        "Mounts": ",".join(ellipsis(m, 15) if trunc else m for m in mounts),
        "LocalVolumes": str(sum(1 for m in c.get("Mounts") or [] if m.get("Driver") == "local")),
        "Networks": ",".join(sorted(networks)),
        "Platform": None,
    }


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    import time

    try:
        filters = parse_filters(opts.many("filter"))
    except ValueError as e:
        raise StatusError(125, str(e)) from None
    last = 1 if opts.on("latest") else opts.number("last")
    query = {
        "all": opts.on("all") or last > 0,
        "limit": last if last > 0 else None,
        "size": opts.on("size"),
        "filters": filters,
    }
    containers = ctx.client.get("/containers/json", query) or []
    trunc = not opts.on("no-trunc")
    if opts.on("quiet"):
        for c in containers:
            ctx.out(truncate_id(c["Id"]) if trunc else c["Id"])
        return 0
    from cove.cli.formatter import FormatError, render

    default = DEFAULT + ("\t{{.Size}}" if opts.on("size") else "")
    now = time.time()
    rows = [row(c, trunc, now) for c in containers]
    try:
        text = render(opts.text("format"), default, rows, HEADERS)
    except FormatError as e:
        raise StatusError(1, str(e)) from None
    import sys

    sys.stdout.write(text)
    return 0
