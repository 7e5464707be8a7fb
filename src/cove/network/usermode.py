"""Edge module: the user-mode network of a rootless daemon: pasta (network/pasta.py) when
installed, as rootless Podman prefers it, else slirp4netns (this module); daemon.json's
``rootless-network`` (or ``--rootless-network``) picks one.  The rest describes slirp4netns.

A rootless daemon lives in its own network namespace, which the host cannot route to.
slirp4netns (Debian package) gives that namespace a ``tap0`` with 10.0.2.100/24 and turns
its packets into ordinary socket calls of the user on the host: outbound connections work
with no privilege, and nothing else on the host changes.  Its host-loopback mapping is off,
as rootless Docker has it, so containers cannot reach services bound to the host's
127.0.0.1.

Published ports: for TCP the daemon asks slirp4netns over its API socket to listen on the
host's address and port and pass connections to 10.0.2.100 at the same port, where the
daemon's own port rules (DNAT) send them on to the container.  UDP goes through pasta's port
helper (network/portdriver.py), which runs beside slirp4netns too: with host loopback
disabled, slirp4netns 1.2 (libslirp 4.7) drops the replies to a client on the host's
127.0.0.1.  The host-side listener belongs to the user, so a port below
``net.ipv4.ip_unprivileged_port_start`` is refused with the words rootless Docker uses.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

from cove.errors import CoveError
from cove.network import pasta, portdriver
from cove.network.portdriver import (
    HelperForwarder,
    check_host_port,
    forward_id,
    request,
)
from cove.network.ports import Mapping

GUEST_ADDR = "10.0.2.100"  # slirp4netns --configure's address for tap0
MTU = 65520  # slirp4netns' largest: fewer, bigger packets through the user-mode stack


# slirp4netns first: Debian 12's pasta (2023-03) sometimes never passes a server's close to
# a client that half-closed first, and that client hangs (docs/rootless.md)
KINDS = ("slirp4netns", "pasta")
_PACKAGE = {"pasta": "passt", "slirp4netns": "slirp4netns"}


def choose(wanted: str = "") -> str:
    """The user-mode network to use: ``wanted`` ("" for the first of KINDS installed);
    CoveError naming the package otherwise."""
    if wanted and wanted not in KINDS:
        raise CoveError(
            f"invalid rootless-network {wanted!r}: it must be one of {', '.join(KINDS)}"
        )
    for kind in (wanted,) if wanted else KINDS:
        if shutil.which(kind):
            return kind
    pkg = _PACKAGE[wanted or KINDS[0]]
    raise CoveError(
        f"rootless mode needs {wanted or 'a user-mode network'} for its containers; as root, "
        f"run: apt-get install {pkg}"
    )


def kind_of(pid: int) -> str:
    """Which user-mode network runs as ``pid`` ("" when none does)."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            name = f.read().strip()
    except OSError:
        return ""
    if name.startswith("passt"):  # pasta is a link to passt (or passt.avx2)
        return "pasta"
    return name if name in KINDS else ""


def helper_socket(api_socket: str) -> str:
    """The port helper's API socket beside slirp4netns's (pasta's helper has ``api_socket``)."""
    return os.path.join(os.path.dirname(api_socket), "port-helper.sock")


def forwarder_for(kind: str, api_socket: str) -> SlirpForwarder | HelperForwarder:
    """The daemon's way to publish ports with the user-mode network ``kind``."""
    if kind == "pasta":
        return HelperForwarder(api_socket)
    return SlirpForwarder(api_socket, HelperForwarder(helper_socket(api_socket)))


def start(kind: str, pid: int, api_socket: str, exit_r: int) -> int:
    """Attach the user-mode network to the network namespace of ``pid``; returns its pid
    once it is configured.  It ends when every writer of the pipe ``exit_r`` reads from has
    closed it (daemon/rootless_ns.py gives the only one to the namespaces' holder)."""
    if kind == "pasta":  # and the helper that publishes ports (network/portdriver.py)
        net = pasta.start(pid, exit_r, os.path.join(os.path.dirname(api_socket), "pasta.pid"))
        portdriver.spawn(pid, api_socket, exit_r)
        return net
    with contextlib.suppress(FileNotFoundError):
        os.unlink(api_socket)
    ready_r, ready_w = os.pipe()
    argv = [
        shutil.which(kind) or kind,
        "--configure",
        f"--mtu={MTU}",
        "--disable-host-loopback",
        f"--api-socket={api_socket}",
        f"--ready-fd={ready_w}",
        f"--exit-fd={exit_r}",
        str(pid),
        "tap0",
    ]
    proc = subprocess.Popen(
        argv,
        pass_fds=(ready_w, exit_r),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    os.close(ready_w)
    got = os.read(ready_r, 1)
    os.close(ready_r)
    if got != b"1":
        proc.kill()
        _, err = proc.communicate()
        text = err.decode(errors="replace").strip()
        if "/dev/net/tun" in text:
            text += (
                "; the host must let users open /dev/net/tun (Debian's default is 0666; "
                "as root: chmod 0666 /dev/net/tun)"
            )
        raise CoveError(f"{kind} failed: {text}")
    if proc.stderr is not None:
        proc.stderr.close()
    portdriver.spawn(pid, helper_socket(api_socket), exit_r)  # for UDP (see above)
    return proc.pid


class SlirpForwarder:
    """Host ports for published container ports, through slirp4netns's API.

    Runs inside the daemon (in its namespaces); the API socket is a file, so it is reached
    from there as well.  UDP ports go to ``udp`` (the port helper), whose ids are kept
    negative here to tell them apart."""

    def __init__(self, api_socket: str, udp: HelperForwarder | None = None) -> None:
        self.api_socket = api_socket
        self.udp = udp

    def add(self, m: Mapping, endpoint: str) -> int:
        """Forward the host's ``m.host_ip:m.host_port`` to the daemon's namespace; the
        forwarding's id for ``remove``."""
        if m.proto == "udp" and self.udp is not None:
            return -self.udp.add(m, endpoint)
        ip = m.host_ip or "0.0.0.0"
        check_host_port(m, endpoint)
        try:
            answer = request(
                self.api_socket,
                {
                    "execute": "add_hostfwd",
                    "arguments": {
                        "proto": m.proto,
                        "host_addr": ip,
                        "host_port": m.host_port,
                        "guest_addr": GUEST_ADDR,
                        "guest_port": m.host_port,
                    },
                },
            )
        except (OSError, ValueError) as e:
            raise CoveError(f"user-mode network unreachable: {e}") from e
        return forward_id(answer, f"{ip}:{m.host_port}", endpoint)

    def clear(self) -> None:
        """Drop every forwarding (a restarted daemon's start: it makes its own again)."""
        if self.udp is not None:
            self.udp.clear()
        with contextlib.suppress(OSError, ValueError):
            answer = request(self.api_socket, {"execute": "list_hostfwd"})
            ret = answer.get("return")  # slirp4netns 1.2 answers {"entries": [...]} bare
            entries = ret.get("entries") if isinstance(ret, dict) else answer.get("entries")
            for e in entries if isinstance(entries, list) else []:
                if isinstance(e, dict) and isinstance(e.get("id"), int):
                    self.remove(int(e["id"]))

    def remove(self, ident: int) -> None:
        if ident < 0 and self.udp is not None:
            self.udp.remove(-ident)
            return
        with contextlib.suppress(OSError, ValueError):
            request(self.api_socket, {"execute": "remove_hostfwd", "arguments": {"id": ident}})
