"""Edge module: published ports of a rootless daemon whose user-mode network is pasta.

pasta (Debian 12's 2023-03 build) forwards host ports that are given when it starts, and
its automatic mode binds only what the namespace listens on at that moment, so it cannot
take ports that containers publish later.  This helper does it instead, as RootlessKit's
"builtin" port driver does for rootless Docker:

- it runs as the user in the host's network namespace, so its listening sockets are the
  host's (a port below ``ip_unprivileged_port_start`` stays refused: usermode.py);
- it has joined the daemon's user namespace, which makes it root over the daemon's
  network namespace: one thread of it lives there (``setns``) and makes the sockets that
  connect, inside, to 10.0.2.100 at the same port, where the daemon's DNAT rules take
  the connection to the container (network/firewall.py, the output chain);
- bytes are copied between the two sockets by its event loop, 64 KiB at a time, with no
  other buffering: a slow side slows the other;
- the daemon asks it over a unix socket (one JSON request per connection, as
  slirp4netns's API): ``add`` (proto, host_addr, host_port) answers an id, ``remove`` an
  id, ``list`` and ``clear``.  Only TCP: UDP is refused with a clear message;
- it lives as long as the namespaces' holder (it ends when the pipe whose only writer is
  the holder reaches its end), so published ports keep answering while no daemon runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import json
import os
import socket
import sys

from cove.errors import Conflict, CoveError, InvalidArgument
from cove.network.ports import Mapping

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
TARGET = "10.0.2.100"  # the namespace's address (pasta's and slirp4netns's)
_CHUNK = 65536


def _setns(path: str, kind: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, kind) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


class _Helper:
    def __init__(self, netns: str) -> None:
        self.netns = netns
        # the one thread inside the daemon's network namespace: it makes the inner sockets
        self.inside = concurrent.futures.ThreadPoolExecutor(1, initializer=self._enter)
        self.forwards: dict[int, tuple[str, str, int, socket.socket, asyncio.Task[None]]] = {}
        self.next_id = 1
        self.conns: set[asyncio.Task[None]] = set()

    def _enter(self) -> None:
        _setns(self.netns, CLONE_NEWNET)

    async def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(OSError):
            while data := await loop.sock_recv(src, _CHUNK):
                await loop.sock_sendall(dst, data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    async def _connection(self, outer: socket.socket, port: int) -> None:
        loop = asyncio.get_running_loop()
        inner = await loop.run_in_executor(self.inside, socket.socket)
        inner.setblocking(False)
        try:
            await loop.sock_connect(inner, (TARGET, port))
            await asyncio.gather(self._pump(outer, inner), self._pump(inner, outer))
        except OSError:
            pass
        finally:
            inner.close()
            outer.close()

    async def _accept(self, listener: socket.socket, port: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(listener)
            except OSError:
                await asyncio.sleep(0.1)  # out of descriptors: let connections end
                continue
            conn.setblocking(False)
            task = asyncio.create_task(self._connection(conn, port))
            self.conns.add(task)
            task.add_done_callback(self.conns.discard)

    def add(self, proto: str, addr: str, port: int) -> dict[str, object]:
        if proto != "tcp":
            return {"error": "proto"}
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.listen(128)
            s.setblocking(False)
        except OSError as e:
            s.close()
            return {"error": e.strerror or str(e)}
        ident = self.next_id
        self.next_id += 1
        task = asyncio.create_task(self._accept(s, port))
        self.forwards[ident] = (proto, addr, port, s, task)
        return {"return": {"id": ident}}

    def remove(self, ident: int) -> None:
        fwd = self.forwards.pop(ident, None)
        if fwd is not None:
            fwd[4].cancel()
            fwd[3].close()

    def handle(self, req: dict[str, object]) -> dict[str, object]:
        what = req.get("execute")
        args = req.get("arguments")
        args = args if isinstance(args, dict) else {}
        if what == "add":
            return self.add(str(args.get("proto")), str(args.get("host_addr")),
                            int(args.get("host_port") or 0))  # fmt: skip
        if what == "remove":
            self.remove(int(args.get("id") or 0))
            return {"return": {}}
        if what == "clear":
            for ident in list(self.forwards):
                self.remove(ident)
            return {"return": {}}
        return {"error": f"unknown request {what!r}"}

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            raw = await reader.read(65536)
            req = json.loads(raw or b"{}")
            answer = self.handle(req if isinstance(req, dict) else {})
        except (ValueError, TypeError) as e:
            answer = {"error": str(e)}
        with contextlib.suppress(OSError):
            writer.write(json.dumps(answer).encode())
            await writer.drain()
            writer.close()


async def _serve(api_socket: str, netns: str, exit_r: int) -> None:
    helper = _Helper(netns)
    helper.inside.submit(lambda: None).result()  # fail now if the namespace is out of reach
    with contextlib.suppress(FileNotFoundError):
        os.unlink(api_socket)
    server = await asyncio.start_unix_server(helper.client, api_socket)
    os.chmod(api_socket, 0o600)
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def ended() -> None:
        if not done.done():
            done.set_result(None)

    loop.add_reader(exit_r, ended)
    os.write(1, b"1")  # ready
    await done  # the holder ended (EOF): so do the ports
    server.close()


def spawn(pid: int, api_socket: str, exit_r: int) -> int:
    """Start the helper for the namespaces of ``pid``; returns its pid once it serves."""
    ready_r, ready_w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the helper
        code = 1
        try:
            os.setsid()
            netns = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            # only what it needs: another pipe end held here would keep its reader waiting
            for fd in map(int, os.listdir("/proc/self/fd")):
                if fd > 2 and fd not in (exit_r, ready_w, netns):
                    with contextlib.suppress(OSError):
                        os.close(fd)
            _setns(f"/proc/{pid}/ns/user", CLONE_NEWUSER)  # single-threaded still
            os.dup2(ready_w, 1)
            os.close(ready_w)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            asyncio.run(_serve(api_socket, f"/proc/self/fd/{netns}", exit_r))
            code = 0
        except BaseException as e:  # the parent's stderr gets our words
            with contextlib.suppress(OSError):
                os.write(2, f"port helper: {e}\n".encode())
        finally:
            sys.stdout.flush()
            os._exit(code)
    os.close(ready_w)
    got = os.read(ready_r, 1)
    os.close(ready_r)
    if got != b"1":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, 0)
        raise CoveError("the port helper for pasta did not start (see the message above)")
    return child


def request(api_socket: str, body: dict[str, object]) -> dict[str, object]:
    """One JSON request to a port API (this helper's or slirp4netns's), one answer."""
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


def forward_id(answer: dict[str, object], where: str, endpoint: str) -> int:
    """The forwarding's id from an ``add`` answer; dockerd's Conflict when there is none
    (the host's port is taken)."""
    ret = answer.get("return")
    if isinstance(ret, dict) and isinstance(ret.get("id"), int):
        return int(ret["id"])
    raise Conflict(
        f"driver failed programming external connectivity on endpoint {endpoint}: "
        f"Bind for {where} failed: port is already allocated"
    )


# Ports below this need privilege, for the user as for anyone (the sysctl's default: 1024).
_UNPRIV_START = "/proc/sys/net/ipv4/ip_unprivileged_port_start"


def check_host_port(m: Mapping, endpoint: str) -> None:
    """InvalidArgument, in rootless Docker's words, for a host port a user cannot bind or an
    address the user-mode network cannot publish."""
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


def unprivileged_port_start() -> int:
    try:
        with open(_UNPRIV_START) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 1024


class HelperForwarder:
    """The daemon's side: host ports through the helper (a HostForwarder)."""

    def __init__(self, api_socket: str) -> None:
        self.api_socket = api_socket

    def add(self, m: Mapping, endpoint: str) -> int:
        check_host_port(m, endpoint)
        if m.proto != "tcp":
            raise InvalidArgument(
                f"rootless mode with pasta publishes tcp ports only, not {m.proto}; "
                'set "rootless-network": "slirp4netns" in daemon.json for udp'
            )
        ip = m.host_ip or "0.0.0.0"
        args = {"proto": m.proto, "host_addr": ip, "host_port": m.host_port}
        try:
            answer = request(self.api_socket, {"execute": "add", "arguments": args})
        except (OSError, ValueError) as e:
            raise CoveError(f"the port helper is unreachable: {e}") from e
        return forward_id(answer, f"{ip}:{m.host_port}", endpoint)

    def remove(self, ident: int) -> None:
        with contextlib.suppress(OSError, ValueError):
            request(self.api_socket, {"execute": "remove", "arguments": {"id": ident}})

    def clear(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            request(self.api_socket, {"execute": "clear"})
