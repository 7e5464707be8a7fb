"""Where coved listens: ``-H``/``hosts`` turned into unix sockets and TCP listeners.

dockerd's rules, with one stricter default:
- ``unix:///path`` (or a bare ``/path``) is a socket owned by root and the group named by
  ``-G``/``group`` (default ``cove``), mode 0660; when the default group does not exist the
  socket stays root:root 0660 with a warning, a named group that does not exist is an error.
- ``tcp://host:port`` (or ``host:port``) serves TLS when ``--tls`` or ``--tlsverify`` is
  given (any ``--tlsverify``, even ``=false``, turns TLS on, as in dockerd); ``--tlsverify``
  requires a client certificate signed by ``--tlscacert``.  Certificates default to
  ``ca.pem``, ``cert.pem`` and ``key.pem`` in ``$DOCKER_CERT_PATH`` or ``~/.docker``.
- Plain TCP is unauthenticated root access to the host.  dockerd 20.10 serves it with a
  warning; coved serves it only when asked in so many words (``--tls=false``), and then
  logs dockerd's warning.
"""

from __future__ import annotations

import grp
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cove.daemon.config import DaemonConfig
from cove.errors import InvalidArgument

if TYPE_CHECKING:  # the TLS module loads only when TLS is asked for
    from cove.api.tls import TLSFiles

DEFAULT_GROUP = "cove"
DEFAULT_TCP_HOST = "127.0.0.1"
DEFAULT_TCP_PORT = 2375
SOCKET_MODE = 0o660
PLAIN_TCP_WARNINGS = (
    "Binding to IP address without --tlsverify is insecure and gives root access on this "
    "machine to everyone who has access to your network.",
    "Binding to an IP address, even on localhost, can also give access to scripts run in a "
    "browser. Be safe out there!",
)


@dataclass(frozen=True)
class Listener:
    kind: str  # "unix" or "tcp"
    address: str  # a socket path, or host:port
    host: str  # as the user wrote it, for messages


@dataclass
class ListenPlan:
    listeners: list[Listener]
    tls: TLSFiles | None  # for the TCP listeners
    gid: int  # the unix sockets' group; -1 leaves root's
    warnings: list[str] = field(default_factory=list)

    @property
    def tcp(self) -> list[Listener]:
        return [x for x in self.listeners if x.kind == "tcp"]


def parse_host(text: str) -> Listener:
    """One ``-H`` value; InvalidArgument with dockerd's words for what cannot be served."""
    host = text.strip()
    proto, sep, rest = host.partition("://")
    if not sep:
        proto, rest = ("unix", host) if host.startswith("/") else ("tcp", host)
    if proto == "unix":
        path = rest or "/run/cove.sock"
        if not path.startswith("/"):
            raise InvalidArgument(f"Invalid bind address format: {text}")
        return Listener("unix", path, host)
    if proto == "tcp":
        return Listener("tcp", _tcp_address(rest, text), host)
    if proto == "fd":
        raise InvalidArgument(f"{text}: fd:// needs systemd socket activation, which coved lacks")
    raise InvalidArgument(f"Invalid bind address format: {text}")


def _tcp_address(rest: str, text: str) -> str:
    rest = rest.rstrip("/")
    if "/" in rest:
        raise InvalidArgument(f"Invalid bind address format: {text}")
    if rest.startswith("["):  # [v6]:port or [v6]
        addr, _, tail = rest[1:].partition("]")
        port = tail.removeprefix(":")
    elif rest.count(":") > 1:
        raise InvalidArgument(f"Invalid bind address format: {text} (write IPv6 as [addr]:port)")
    else:
        addr, _, port = rest.partition(":")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise InvalidArgument(f"Invalid bind address format: {text} (bad port {port!r})")
    addr, port = addr or DEFAULT_TCP_HOST, port or str(DEFAULT_TCP_PORT)
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def socket_gid(name: str) -> tuple[int, str | None]:
    """The group's id (-1: none) and a warning; InvalidArgument for a named group not found."""
    if not name:
        return -1, None
    try:
        return grp.getgrnam(name).gr_gid, None
    except KeyError:
        pass
    if name.isdigit():
        return int(name), None
    if name == DEFAULT_GROUP:
        return -1, f"could not change the API socket's group to {name}: group {name} not found"
    raise InvalidArgument(f"group {name} not found")


def tls_files(cfg: DaemonConfig) -> TLSFiles | None:
    if not (cfg.tls or cfg.tlsverify is not None):
        return None
    from cove.api.tls import TLSFiles

    base = os.environ.get("DOCKER_CERT_PATH") or os.path.join(os.path.expanduser("~"), ".docker")
    return TLSFiles(
        cert=cfg.tlscert or os.path.join(base, "cert.pem"),
        key=cfg.tlskey or os.path.join(base, "key.pem"),
        ca=cfg.tlscacert or os.path.join(base, "ca.pem"),
        verify=bool(cfg.tlsverify),
    )


def plan(cfg: DaemonConfig) -> ListenPlan:
    listeners = [parse_host(h) for h in cfg.hosts] or [parse_host("unix:///run/cove.sock")]
    tls = tls_files(cfg)
    gid, warning = socket_gid(cfg.group) if any(x.kind == "unix" for x in listeners) else (-1, None)
    out = ListenPlan(listeners, tls, gid, [warning] if warning else [])
    for x in out.tcp:
        if tls is None and cfg.tls is not False:
            raise InvalidArgument(
                f"refusing to serve the API on {x.host} without TLS: anyone who can reach it "
                "gets root on this host. Use --tlsverify with --tlscacert, --tlscert and "
                "--tlskey (or --tls for server-side TLS only); --tls=false serves plain HTTP "
                "anyway"
            )
        if tls is None or not tls.verify:
            out.warnings += [f"{w} host={x.host!r}" for w in PLAIN_TCP_WARNINGS]
    return out
