"""Published ports as data: what ``-p``/``-P`` ask for, and Docker's views of the result.

A ``Mapping`` with host_port 0 asks for a free port; ``portmap`` (the edge) turns it into a
reserved one.  Everything here is pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from cove.errors import InvalidArgument
from cove.util.jsontypes import Json


@dataclass(frozen=True)
class Mapping:
    proto: str  # "tcp" | "udp" | "sctp"
    container_port: int
    host_ip: str  # "" = every address
    host_port: int  # 0 = any free port

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"


def split_port(key: str) -> tuple[int, str]:
    num, _, proto = key.partition("/")
    proto = proto or "tcp"
    try:
        port = int(num)
    except ValueError:
        raise InvalidArgument(f"invalid containerPort: {num}") from None
    if not 0 < port < 65536 or proto not in ("tcp", "udp", "sctp"):
        raise InvalidArgument(f"invalid port specification: {key!r}")
    return port, proto


def _host_port(text: str) -> tuple[int, int]:
    """ "", "8080" or "8080-8081" -> (first, last); (0, 0) = any."""
    if not text:
        return 0, 0
    a, _, b = text.partition("-")
    try:
        lo, hi = int(a), int(b or a)
    except ValueError:
        raise InvalidArgument(f"invalid hostPort: {text}") from None
    if not (0 <= lo <= hi < 65536):
        raise InvalidArgument(f"invalid hostPort: {text}")
    return lo, hi


def wanted(hc: Json, exposed: Json | None) -> list[Mapping]:
    """Every mapping the container asks for, in a stable order.  A host port range bound to
    one container port means "any free port of the range"; cove takes the first that is
    free (see portmap)."""
    out: list[Mapping] = []
    bindings: Json = hc.get("PortBindings") or {}
    for key in sorted(bindings, key=_order):
        port, proto = split_port(key)
        for b in bindings[key] or [{}]:
            b = b or {}
            lo, _hi = _host_port(str(b.get("HostPort") or ""))
            out.append(Mapping(proto, port, str(b.get("HostIp") or ""), lo))
    if hc.get("PublishAllPorts"):
        for key in sorted(exposed or {}, key=_order):
            if key in bindings:
                continue
            port, proto = split_port(key)
            out.append(Mapping(proto, port, "", 0))
    return out


def _order(key: str) -> tuple[int, str]:
    p, _, proto = key.partition("/")
    return (int(p) if p.isascii() and p.isdigit() else 0, proto)


def host_ip_shown(m: Mapping) -> str:
    return m.host_ip or "0.0.0.0"


def inspect_ports(exposed: Json | None, mapped: list[Mapping]) -> Json:
    """``NetworkSettings.Ports``: every exposed port, with its bindings or null."""
    out: Json = {}
    for key in sorted(exposed or {}, key=_order):
        out[key] = None
    for m in mapped:
        lst = out.get(m.key) or []
        lst.append({"HostIp": host_ip_shown(m), "HostPort": str(m.host_port)})
        out[m.key] = lst
    return out


def summary_ports(ports: Json) -> list[Json]:
    """``ps``'s ``Ports``: one entry per binding, exposed-only ports without a public one."""
    out: list[Json] = []
    for key, binds in (ports or {}).items():
        port, proto = split_port(key)
        if not binds:
            out.append({"PrivatePort": port, "Type": proto})
            continue
        for b in binds:
            out.append(
                {
                    "IP": b.get("HostIp") or "0.0.0.0",
                    "PrivatePort": port,
                    "PublicPort": int(b.get("HostPort") or 0),
                    "Type": proto,
                }
            )
    return out


def from_inspect(ports: Json) -> list[Mapping]:
    """The mappings a running container holds, read back from its record (daemon restart)."""
    out = []
    for key, binds in (ports or {}).items():
        port, proto = split_port(key)
        for b in binds or []:
            ip = b.get("HostIp") or ""
            out.append(Mapping(proto, port, "" if ip == "0.0.0.0" else ip, int(b["HostPort"])))
    return out
