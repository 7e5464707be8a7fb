"""``tcp://`` hosts, with TLS as the docker CLI sets it up.

Imported only for a ``tcp://`` host, and ``ssl`` only once TLS is on, so ``cove ps`` on the
unix socket pays for neither.  The docker CLI's rules:
- ``--tlsverify`` (or ``$DOCKER_TLS_VERIFY`` non-empty) verifies the daemon's certificate
  against ``--tlscacert`` alone and implies ``--tls``; any ``--tlsverify``, even ``=false``,
  turns TLS on;
- ``--tls`` (or ``$DOCKER_TLS``) alone encrypts without checking the daemon's certificate;
- files default to ``ca.pem``, ``cert.pem`` and ``key.pem`` in ``$DOCKER_CERT_PATH`` or
  ``~/.docker``; a default client certificate that does not exist is simply not sent.
"""

from __future__ import annotations

import _socket
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    import ssl
    from collections.abc import Mapping

CONNECT_TIMEOUT = 30.0


class TLSOptions:
    def __init__(self, verify: bool, ca: str, cert: str, key: str) -> None:
        self.verify = verify
        self.ca = ca
        self.cert = cert  # "" = no client certificate
        self.key = key


def tls_options(flags: Mapping[str, object], env: Mapping[str, str]) -> TLSOptions | None:
    """``flags``: the global flags given (tls, tlsverify: bools; tlscacert, tlscert, tlskey)."""
    verify_given = "tlsverify" in flags
    verify = bool(flags["tlsverify"]) if verify_given else bool(env.get("DOCKER_TLS_VERIFY"))
    on = bool(flags.get("tls", bool(env.get("DOCKER_TLS")))) or verify or verify_given
    if not on:
        return None
    base = env.get("DOCKER_CERT_PATH") or os.path.join(os.path.expanduser("~"), ".docker")

    def path(flag: str, name: str) -> str:
        given = flags.get(flag)
        if given:
            return str(given)
        default = os.path.join(base, name)
        return default if name == "ca.pem" or os.path.exists(default) else ""

    return TLSOptions(verify, path("tlscacert", "ca.pem"), path("tlscert", "cert.pem"),
                      path("tlskey", "key.pem"))  # fmt: skip


def parse_tcp(host: str) -> tuple[str, int]:
    """``tcp://host:port`` -> (host, port); ValueError with the docker CLI's words."""
    rest = host[len("tcp://") :].rstrip("/")
    if rest.startswith("["):
        addr, _, tail = rest[1:].partition("]")
        port = tail.removeprefix(":")
    else:
        addr, _, port = rest.partition(":")
    if not addr or (port and not port.isdigit()):
        raise ValueError(f"invalid bind address format: {host}")
    return addr, int(port or 2375)


def connect_tcp(address: tuple[str, int], tls: TLSOptions | None) -> _socket.socket:
    """A connected socket (TLS-wrapped with ``tls``); ConnectionError when TLS fails."""
    sock = _connect(address)
    if tls is None:
        return sock
    import ssl

    ctx = _context(tls)
    try:
        wrapped = ctx.wrap_socket(sock, server_hostname=address[0])
    except ssl.SSLError as e:
        sock.close()
        raise ConnectionError(f"tls: {e.reason or e}") from None
    except BaseException:
        sock.close()
        raise
    return wrapped


def _connect(address: tuple[str, int]) -> socket.socket:
    import socket

    sock = socket.create_connection(address, CONNECT_TIMEOUT)
    sock.settimeout(None)
    return sock


def _context(tls: TLSOptions) -> ssl.SSLContext:
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.sslsocket_class = _socket_class()
    if tls.verify:
        try:
            ctx.load_verify_locations(cafile=tls.ca)
        except (OSError, ssl.SSLError) as e:
            raise ValueError(f"could not read CA certificate {tls.ca!r}: {_why(e)}") from None
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.cert or tls.key:
        try:
            ctx.load_cert_chain(tls.cert, tls.key or None)
        except (OSError, ssl.SSLError) as e:
            raise ValueError(
                f"could not load X509 key pair (cert: {tls.cert!r}, key: {tls.key!r}): {_why(e)}"
            ) from None
    return ctx


def _why(e: Exception) -> str:
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e)


def _socket_class() -> type[ssl.SSLSocket]:
    """An SSLSocket whose TLS failures after the handshake read as a lost connection.

    With TLS 1.3 the daemon judges our certificate after our side of the handshake is
    done, so a refusal arrives as an alert on the first read, not at connect.
    """
    import ssl

    class Socket(ssl.SSLSocket):
        def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
            try:
                return super().recv(buflen, flags)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                raise
            except ssl.SSLError as e:
                raise ConnectionError(f"remote error: tls: {e.reason or e}") from None

    return Socket
