"""The syslog driver: a forwarder process per container that follows the container's log
file and sends each line to a syslog server.

It is started detached (its own session, like conmon) when the container starts, so lines
keep going out while coved is down; it reads the file conmon writes, so a slow or absent
syslog server never slows the container; it ends once the monitor is gone and the file is
drained.  ``python -m cove.logdriver.syslog --help`` lists its arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import time
from datetime import UTC, datetime

from cove.logdriver import cri
from cove.logdriver.reader import LogReader
from cove.util.timefmt import rfc3339

SEVERITY = {cri.STDOUT: 6, cri.STDERR: 3}  # info, err: as Docker's driver
LOCAL_SOCKETS = ("/dev/log", "/var/run/syslog", "/var/run/log")


def format_message(
    fmt: str, facility: int, stream: int, tag: str, line: bytes, now: float, pid: int, host: str
) -> bytes:
    """One syslog message in Docker's shapes: "" (Go's log/syslog local format), rfc3164,
    rfc5424, rfc5424micro."""
    pri = facility * 8 + SEVERITY.get(stream, 6)
    t = datetime.fromtimestamp(now, UTC)
    clock = f"{t.strftime('%b')} {t.day:2d} {t.strftime('%H:%M:%S')}"
    if fmt == "rfc3164":
        head = f"<{pri}>{clock} {host} {tag}[{pid}]: "
    elif fmt in ("rfc5424", "rfc5424micro"):
        stamp = rfc3339(now)
        if fmt == "rfc5424micro":
            stamp = f"{stamp[:-1]}.{t.microsecond:06d}Z"
        head = f"<{pri}>1 {stamp} {host} {tag} {pid} {tag} - "
    else:
        head = f"<{pri}>{clock} {tag}[{pid}]: "
    return head.encode() + line


def expand_tag(template: str, cid: str, name: str, image: str) -> str:
    """Docker's ``tag`` option: the container's short id unless given; the usual Go
    template fields are replaced."""
    if not template:
        return cid[:12]
    fields = {
        "{{.ID}}": cid[:12], "{{.FullID}}": cid, "{{.Name}}": name.lstrip("/"),
        "{{.ImageName}}": image, "{{.DaemonName}}": "docker",
    }  # fmt: skip
    for k, v in fields.items():
        template = template.replace(k, v)
    return template


class Sender:
    """A connection to the server, made again after a failure (lines meanwhile are lost:
    a syslog server that is away must not hold the container's output back)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock: socket.socket | None = None
        self.stream = False

    def _connect(self) -> socket.socket:
        proto, _, rest = self.address.partition("://")
        if not self.address:
            for path in LOCAL_SOCKETS:
                if os.path.exists(path):
                    proto, rest = "unix", path
                    break
        if proto in ("unix", "unixgram"):
            kinds = [socket.SOCK_DGRAM] + ([socket.SOCK_STREAM] if proto == "unix" else [])
            for kind in kinds:
                s = socket.socket(socket.AF_UNIX, kind)
                try:
                    s.connect(rest)
                except OSError:
                    s.close()
                    continue
                self.stream = kind == socket.SOCK_STREAM
                return s
            raise OSError(f"cannot connect to {self.address or 'the local syslog'}")
        host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "514")
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        info = socket.getaddrinfo(host.strip("[]"), int(port or 514), type=kind)[0]
        s = socket.socket(info[0], kind)
        s.settimeout(5)
        s.connect(info[4])
        self.stream = kind == socket.SOCK_STREAM
        return s

    def send(self, msg: bytes) -> None:
        try:
            if self.sock is None:
                self.sock = self._connect()
            self.sock.sendall(msg + b"\n" if self.stream else msg)
        except OSError:
            if self.sock is not None:
                with contextlib.suppress(OSError):
                    self.sock.close()
            self.sock = None


def _alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")  # conmon is reaped by init at once


def forward(args: argparse.Namespace) -> None:
    reader = LogReader(args.log, follow=True, start_offset=0, live_fd=args.fd)
    sender = Sender(args.address)
    tag = expand_tag(args.tag, args.id, args.name, args.image)
    host, pid = socket.gethostname(), os.getpid()
    carry: dict[int, bytes] = {}
    while True:
        alive = _alive(args.monitor_pid)
        out = reader.step()
        if out is None:
            if not alive:
                break
            time.sleep(0.1)
            continue
        for stream, data in out:
            lines = (carry.pop(stream, b"") + data).split(b"\n")
            if lines[-1]:
                carry[stream] = lines[-1]
            now = time.time()
            for line in lines[:-1]:
                sender.send(
                    format_message(args.format, args.facility, stream, tag, line, now, pid, host)
                )
    reader.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cove-syslog", description=__doc__)
    p.add_argument("--log", required=True, help="the container's log file")
    p.add_argument("--monitor-pid", type=int, required=True)
    p.add_argument("--fd", type=int, default=None, help="the log, opened by coved")
    p.add_argument("--address", default="")
    p.add_argument("--facility", type=int, default=3)
    p.add_argument("--format", default="")
    p.add_argument("--tag", default="")
    p.add_argument("--id", default="")
    p.add_argument("--name", default="")
    p.add_argument("--image", default="")
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        forward(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
