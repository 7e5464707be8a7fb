"""Edge module: published ports of a rootless daemon whose user-mode network is pasta (all
of them) or slirp4netns (its UDP ones, network/usermode.py says why).

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
- UDP the same way, per client: the first datagram from a client address makes an inner
  socket connected to 10.0.2.100 at the port, its replies go back to that client from the
  published port; a flow idle for ``UDP_IDLE`` seconds is closed (the timeout of Docker's
  userland proxy), and at most ``UDP_FLOWS`` flows per port are kept (the oldest goes);
- the daemon asks it over a unix socket (one JSON request per connection, as
  slirp4netns's API): ``add`` (proto, host_addr, host_port) answers an id, ``remove`` an
  id, ``list`` and ``clear``.  TCP and UDP (sctp is refused with a clear message);
- it lives as long as the namespaces' holder (it ends when the pipe whose only writer is
  the holder reaches its end), so published ports keep answering while no daemon runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import socket
import sys

from cove.errors import Conflict, CoveError, InvalidArgument
from cove.network.ports import Mapping
from cove.util.bridge import WorkerPool

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
TARGET = "10.0.2.100"  # the namespace's address (pasta's and slirp4netns's)
_CHUNK = 65536
UDP_IDLE = 90.0  # seconds without a datagram either way before a UDP flow is closed
UDP_FLOWS = 256  # UDP clients remembered per published port


def _setns(path: str, kind: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, kind) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def _udp_socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    s.setblocking(False)
    return s


class _Flow:
    """One UDP client of a published port: its inner socket and when it was last used."""

    def __init__(self, inner: socket.socket, seen: float) -> None:
        self.inner = inner
        self.seen = seen
        self.task: asyncio.Task[None]

    def close(self, _task: asyncio.Task[None]) -> None:
        self.inner.close()


class _Helper:
    def __init__(self, netns: str) -> None:
        self.netns = netns
        # the one thread inside the daemon's network namespace: it makes the inner sockets
        self.inside = WorkerPool(1, "cove-ports-inside", initializer=self._enter)
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
        inner = await self.inside.call(socket.socket)
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

    async def _udp(self, outer: socket.socket, port: int) -> None:
        """Datagrams to the published port, each client's through an inner socket of its
        own (so replies find their way back); ends (with its flows) when cancelled."""
        loop = asyncio.get_running_loop()
        flows: dict[tuple[str, int], _Flow] = {}
        try:
            while True:
                try:
                    data, client = await loop.sock_recvfrom(outer, _CHUNK)
                except OSError:
                    await asyncio.sleep(0.1)
                    continue
                flow = flows.get(client)
                if flow is None:
                    if len(flows) >= UDP_FLOWS:
                        flows.pop(next(iter(flows))).task.cancel()  # the oldest client
                    try:
                        inner = await self.inside.call(_udp_socket)
                        inner.connect((TARGET, port))  # no packet: it only fixes the peer
                    except OSError:
                        continue
                    flow = flows[client] = _Flow(inner, loop.time())
                    flow.task = asyncio.create_task(self._udp_back(flows, client, outer))
                    flow.task.add_done_callback(flow.close)  # also when cancelled unstarted
                flow.seen = loop.time()
                with contextlib.suppress(OSError):
                    flow.inner.send(data)  # a full buffer drops it, as the network may
        finally:
            for flow in flows.values():
                flow.task.cancel()

    async def _udp_back(
        self, flows: dict[tuple[str, int], _Flow], client: tuple[str, int], outer: socket.socket
    ) -> None:
        """Replies to ``client`` until its flow has been idle for UDP_IDLE seconds."""
        loop = asyncio.get_running_loop()
        flow = flows[client]
        try:
            while (left := flow.seen + UDP_IDLE - loop.time()) > 0:
                try:
                    data = await asyncio.wait_for(loop.sock_recv(flow.inner, _CHUNK), left)
                except TimeoutError:
                    continue  # the loop's test tells idle from recently used
                except OSError:
                    continue  # the container's port refused one datagram (ICMP): go on
                flow.seen = loop.time()
                with contextlib.suppress(OSError):
                    await loop.sock_sendto(outer, data, client)
        finally:
            if flows.get(client) is flow:
                del flows[client]

    def add(self, proto: str, addr: str, port: int) -> dict[str, object]:
        if proto not in ("tcp", "udp"):
            return {"error": "proto"}
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET, kind | socket.SOCK_CLOEXEC)
        try:
            if proto == "tcp":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            if proto == "tcp":
                s.listen(128)
            s.setblocking(False)
        except OSError as e:
            s.close()
            return {"error": e.strerror or str(e)}
        ident = self.next_id
        self.next_id += 1
        serve = self._accept(s, port) if proto == "tcp" else self._udp(s, port)
        task = asyncio.create_task(serve)
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
        raise CoveError("the port helper did not start (see the message above)")
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
        if m.proto not in ("tcp", "udp"):
            raise InvalidArgument(f"rootless mode publishes tcp and udp ports, not {m.proto}")
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
