"""Edge module: the user-mode network of a rootless daemon (slirp4netns).

A rootless daemon lives in its own network namespace, which the host cannot route to.
slirp4netns (Debian package) gives that namespace a ``tap0`` with 10.0.2.100/24 and turns
its packets into ordinary socket calls of the user on the host: outbound connections work
with no privilege, and nothing else on the host changes.  Its host-loopback mapping is off,
as rootless Docker has it, so containers cannot reach services bound to the host's
127.0.0.1.

Published ports: the daemon asks slirp4netns over its API socket to listen on the host's
address and port and pass connections to 10.0.2.100 at the same port, where the daemon's
own port rules (DNAT) send them on to the container.  The host-side listener belongs to
the user, so a port below ``net.ipv4.ip_unprivileged_port_start`` is refused with the words
rootless Docker uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess

from cove.errors import Conflict, CoveError, InvalidArgument
from cove.network.ports import Mapping

GUEST_ADDR = "10.0.2.100"  # slirp4netns --configure's address for tap0
MTU = 65520  # slirp4netns' largest: fewer, bigger packets through the user-mode stack
_UNPRIV_START = "/proc/sys/net/ipv4/ip_unprivileged_port_start"


def choose() -> str:
    """The user-mode network available here; CoveError naming the package otherwise."""
    if shutil.which("slirp4netns"):
        return "slirp4netns"
    raise CoveError(
        "rootless mode needs a user-mode network for its containers; as root, run: "
        "apt-get install slirp4netns"
    )


def start(kind: str, pid: int, api_socket: str, exit_r: int) -> subprocess.Popen[bytes]:
    """Attach the user-mode network to the network namespace of ``pid``; returns once it is
    configured.  It ends on its own when every writer of the pipe ``exit_r`` reads from has
    closed it (daemon/rootless_ns.py gives the only one to the namespaces' holder)."""
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
    return proc


def _request(api_socket: str, body: dict[str, object]) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5.0)
        s.connect(api_socket)
        s.sendall(json.dumps(body).encode())
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(4096):
            chunks.append(chunk)
            if sum(map(len, chunks)) > 65536:
                break
    answer = json.loads(b"".join(chunks) or b"{}")
    return answer if isinstance(answer, dict) else {}


def unprivileged_port_start() -> int:
    try:
        with open(_UNPRIV_START) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 1024


class SlirpForwarder:
    """Host ports for published container ports, through slirp4netns's API.

    Runs inside the daemon (in its namespaces); the API socket is a file, so it is reached
    from there as well."""

    def __init__(self, api_socket: str) -> None:
        self.api_socket = api_socket

    def add(self, m: Mapping, endpoint: str) -> int:
        """Forward the host's ``m.host_ip:m.host_port`` to the daemon's namespace; the
        forwarding's id for ``remove``."""
        ip = m.host_ip or "0.0.0.0"
        lowest = unprivileged_port_start()
        if m.host_port < lowest:
            raise InvalidArgument(
                f"driver failed programming external connectivity on endpoint {endpoint}: "
                "Error starting userland proxy: error while calling PortManager.AddPort(): "
                f"cannot expose privileged port {m.host_port}, you can add "
                f"'net.ipv4.ip_unprivileged_port_start={m.host_port}' to /etc/sysctl.conf "
                f"(currently {lowest}), or choose a larger port number (>= {lowest})"
            )
        if ":" in ip:
            raise InvalidArgument(f"rootless mode publishes IPv4 addresses only, not {ip}")
        try:
            answer = _request(
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
        ret = answer.get("return")
        if isinstance(ret, dict) and isinstance(ret.get("id"), int):
            return int(ret["id"])
        raise Conflict(
            f"driver failed programming external connectivity on endpoint {endpoint}: "
            f"Bind for {ip}:{m.host_port} failed: port is already allocated"
        )

    def clear(self) -> None:
        """Drop every forwarding (a restarted daemon's start: it makes its own again)."""
        with contextlib.suppress(OSError, ValueError):
            answer = _request(self.api_socket, {"execute": "list_hostfwd"})
            ret = answer.get("return")  # slirp4netns 1.2 answers {"entries": [...]} bare
            entries = ret.get("entries") if isinstance(ret, dict) else answer.get("entries")
            for e in entries if isinstance(entries, list) else []:
                if isinstance(e, dict) and isinstance(e.get("id"), int):
                    self.remove(int(e["id"]))

    def remove(self, ident: int) -> None:
        with contextlib.suppress(OSError, ValueError):
            _request(self.api_socket, {"execute": "remove_hostfwd", "arguments": {"id": ident}})
