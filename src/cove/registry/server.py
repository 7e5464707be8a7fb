"""Run the registry: ``serve(addr, root, ...)`` on asyncio, optionally with TLS and auth."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
from collections.abc import Callable

from cove.errors import InvalidArgument
from cove.registry.app import Registry
from cove.registry.auth import Authorizer
from cove.registry.http import serve_connection
from cove.registry.storage import Storage


def split_addr(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise InvalidArgument(f"invalid address {addr!r}: expected HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


async def serve(
    addr: str,
    root: str,
    *,
    tls_cert: str = "",
    tls_key: str = "",
    users: dict[str, str] | None = None,
    auth_mode: str = "",
    anonymous_pull: bool = False,
    ready: Callable[[str], None] | None = None,
) -> None:
    host, port = split_addr(addr)
    ctx = None
    if tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(tls_cert, tls_key or None)
    authorizer = None
    if auth_mode:
        scheme = "https" if ctx else "http"
        realm = f"{scheme}://{addr}{Authorizer.token_path}"
        authorizer = Authorizer(users or {}, auth_mode, realm, anonymous_pull)
    app = Registry(Storage(root), authorizer)
    server = await asyncio.start_server(
        lambda r, w: serve_connection(r, w, app.handle), host, port, ssl=ctx, limit=1 << 16
    )
    bound = server.sockets[0].getsockname()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready(f"{bound[0]}:{bound[1]}")
    async with server:
        await stop.wait()
