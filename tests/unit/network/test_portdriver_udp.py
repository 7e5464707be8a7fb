"""pasta's port helper forwarding UDP (network/portdriver.py), in this process: the
"container" is an echo server on 127.0.0.2 standing for the daemon's 10.0.2.100, so no
namespace is needed.  Each client gets its own flow (its replies, its source port inside);
an idle flow is closed and the oldest goes when there are too many."""

from __future__ import annotations

import asyncio
import socket

import pytest

from cove.network import portdriver


async def _echo(sock: socket.socket) -> None:
    """Answers each datagram with the sender's port, so flows can be told apart."""
    loop = asyncio.get_running_loop()
    while True:
        data, peer = await loop.sock_recvfrom(sock, 4096)
        await loop.sock_sendto(sock, data + b" via " + str(peer[1]).encode(), peer)


async def _ask(client: socket.socket, port: int, text: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    await loop.sock_sendto(client, text, ("127.0.0.1", port))
    return await asyncio.wait_for(loop.sock_recv(client, 4096), 5)


def _udp() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.bind(("127.0.0.1", 0))
    return s


@pytest.fixture
def helper(monkeypatch: pytest.MonkeyPatch) -> portdriver._Helper:
    monkeypatch.setattr(portdriver, "TARGET", "127.0.0.2")
    monkeypatch.setattr(portdriver._Helper, "_enter", lambda self: None)  # no namespace
    monkeypatch.setattr(portdriver, "UDP_IDLE", 0.3)
    monkeypatch.setattr(portdriver, "UDP_FLOWS", 2)
    return portdriver._Helper("/proc/self/ns/net")


def test_udp_flows(helper: portdriver._Helper) -> None:
    async def main() -> None:
        inner = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        inner.setblocking(False)
        inner.bind(("127.0.0.2", 0))
        port = inner.getsockname()[1]
        echo = asyncio.create_task(_echo(inner))
        answer = helper.add("udp", "127.0.0.1", port)
        ident = answer["return"]["id"]  # type: ignore[index]
        a, b, c = _udp(), _udp(), _udp()
        try:
            first = await _ask(a, port, b"a1")
            assert first.startswith(b"a1 via ")
            assert await _ask(a, port, b"a2") == b"a2" + first[2:]  # the same flow
            other = await _ask(b, port, b"b1")
            assert other[2:] != first[2:]  # its own flow, its own source port
            await asyncio.sleep(0.6)  # idle: both flows closed
            again = await _ask(a, port, b"a3")
            assert again[2:] != first[2:]
            await _ask(b, port, b"b2")
            await _ask(c, port, b"c1")  # a third client: a's flow (the oldest) goes
            assert (await _ask(a, port, b"a4"))[2:] != again[2:]
            helper.remove(ident)
            await asyncio.sleep(0)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(_ask(a, port, b"gone"), 0.3)
        finally:
            echo.cancel()
            for s in (a, b, c, inner):
                s.close()

    asyncio.run(main())
    helper.inside.shutdown()
