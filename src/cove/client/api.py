"""The Engine API client: versioned paths, JSON bodies, errors, hijacked streams.

``Client`` never talks to the engine in-process: everything goes over the unix socket named
by the host (``unix:///run/cove.sock`` unless ``-H``/``$COVE_HOST``/``$DOCKER_HOST`` say
otherwise), or a ``tcp://`` host with TLS as the docker CLI does it (``cove.client.tls``).
Paths are ``/v1.44/...``; ``$COVE_API_VERSION`` overrides that, and a daemon that answers
"client version is too new" (dockerd 20.10 speaks 1.41) gets the request again at the version
it names.
"""

from __future__ import annotations

import os

from cove.client import jsonlite as json
from cove.client.errors import APIError, DaemonPermissionDenied, DaemonUnreachable
from cove.client.http import (
    DEFAULT_HOST,
    Response,
    connect_unix,
    read_response,
    send_request,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    QueryValue = str | int | bool | list[str] | None

API_VERSION = "1.44"
USER_AGENT = "Cove-Client/0.1.0 (linux)"
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = _UNRESERVED | frozenset(b"/:@!$&'()*+,;=")
_TOO_NEW = "is too new. Maximum supported API version is "


def resolve_host(flag: str | None = None) -> str:
    """``-H`` wins, then ``$COVE_HOST``, ``$DOCKER_HOST``, then the default socket: the
    system daemon's for root, the user's own rootless daemon's for anyone else."""
    env = os.environ
    return flag or env.get("COVE_HOST") or env.get("DOCKER_HOST") or default_host()


def default_host() -> str:
    if os.geteuid() == 0:
        return DEFAULT_HOST
    from cove.util.rootless_paths import rootless_paths

    return rootless_paths().host


def socket_path(host: str) -> str:
    """The filesystem path of a ``unix://`` host; "" for ``tcp://``, ValueError otherwise."""
    if host.startswith("unix://"):
        path = host[len("unix://") :]
    elif host.startswith("/"):
        path = host
    elif host.startswith("tcp://"):
        return ""
    else:
        raise ValueError(f"unsupported host {host!r}: cove speaks unix:// and tcp:// only")
    if not path:
        raise ValueError(f"invalid host {host!r}")
    return path


def _escape(text: str, safe: frozenset[int], space: str) -> str:
    out = []
    for b in text.encode():
        if b in safe:
            out.append(chr(b))
        elif b == 0x20 and space:
            out.append(space)
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def quote_path(segment: str) -> str:
    return _escape(segment, _PATH_SAFE, "")


def encode_query(query: Mapping[str, QueryValue]) -> str:
    """Go's ``url.Values`` encoding; None and False are left out, True is ``1``."""
    parts = []
    for key, value in query.items():
        if value is None or value is False:
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            text = "1" if v is True else str(v)
            parts.append(_escape(key, _UNRESERVED, "+") + "=" + _escape(text, _UNRESERVED, "+"))
    return "&".join(parts)


def error_message(status: int, reason: str, body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return str(data["message"]).strip()  # as the docker CLI trims it
    return text or f"{status} {reason}".strip()


class Client:
    def __init__(
        self,
        host: str | None = None,
        version: str | None = None,
        tls: Mapping[str, object] | None = None,
    ) -> None:
        """``tls``: the TLS flags given (tls, tlsverify, tlscacert, tlscert, tlskey), used
        with ``$DOCKER_TLS_VERIFY`` and ``$DOCKER_CERT_PATH`` for a ``tcp://`` host."""
        self.host = resolve_host(host)
        self.path = socket_path(self.host)
        self.version = version or os.environ.get("COVE_API_VERSION") or API_VERSION
        self.autostart = bool(self.path)
        self.tls_flags = dict(tls or {})

    def connect(self) -> Any:
        if not self.path:
            return self._connect_tcp()
        try:
            return connect_unix(self.path)
        except PermissionError as e:  # the daemon may run; this user may not reach it
            raise DaemonPermissionDenied(self.host, self.path) from e
        except (FileNotFoundError, ConnectionRefusedError) as e:
            if self.autostart:
                from cove.client.autostart import maybe_start

                self.autostart = False
                if maybe_start(self):
                    return connect_unix(self.path)
            raise DaemonUnreachable(self.host) from e

    def _connect_tcp(self) -> Any:
        from cove.client import tls

        address = tls.parse_tcp(self.host)
        options = tls.tls_options(self.tls_flags, os.environ)
        try:
            return tls.connect_tcp(address, options)
        except ConnectionRefusedError as e:
            raise DaemonUnreachable(self.host) from e

    def url(self, path: str, query: Mapping[str, QueryValue] | None = None) -> str:
        path = quote_path(path)
        target = f"/v{self.version}{path}" if not path.startswith("/_") else path
        qs = encode_query(query) if query else ""
        return f"{target}?{qs}" if qs else target

    def open(
        self,
        method: str,
        path: str,
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
        *,
        raw: bytes | Iterable[bytes] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> Response:
        """Send a request and return the response once its head arrived.

        ``body`` is sent as JSON, ``raw`` as is.  A 4xx/5xx answer becomes ``APIError``; an
        answer that our API version is too new is retried once with the server's version.
        """
        hdrs = [("User-Agent", USER_AGENT), *(headers or [])]
        payload: bytes | Iterable[bytes] | None = raw
        if body is not None:
            payload = json.dumps(body).encode()
            hdrs.append(("Content-Type", "application/json"))
        for attempt in (0, 1):
            sock = self.connect()
            try:
                send_request(sock, method, self.url(path, query), hdrs, payload)
                resp = read_response(sock)
            except BaseException:
                sock.close()
                raise
            if resp.status < 400:
                return resp
            try:
                msg = error_message(resp.status, resp.reason, resp.read())
            finally:
                resp.close()
            retryable = payload is None or isinstance(payload, bytes)
            if attempt == 0 and retryable and resp.status == 400 and _TOO_NEW in msg:
                self.version = msg.rsplit(" ", 1)[-1]
                continue
            raise APIError(resp.status, msg)
        raise AssertionError("unreachable")

    def call(
        self,
        method: str,
        path: str,
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
    ) -> Any:
        """A plain request; the decoded JSON answer, or None for an empty one."""
        resp = self.open(method, path, query, body)
        try:
            data = resp.read()
        finally:
            resp.close()
        return json.loads(data) if data.strip() else None

    def get(self, path: str, query: Mapping[str, QueryValue] | None = None) -> Any:
        return self.call("GET", path, query)

    def post(
        self, path: str, query: Mapping[str, QueryValue] | None = None, body: Any = None
    ) -> Any:
        return self.call("POST", path, query, body)

    def delete(self, path: str, query: Mapping[str, QueryValue] | None = None) -> Any:
        return self.call("DELETE", path, query)

    def hijack(
        self, path: str, query: Mapping[str, QueryValue] | None = None, body: Any = None
    ) -> Response:
        """POST with ``Upgrade: tcp``; the returned response's socket is the raw stream."""
        upgrade = [("Connection", "Upgrade"), ("Upgrade", "tcp")]
        if body is None:
            upgrade.append(("Content-Type", "text/plain"))
        return self.open("POST", path, query, body, headers=upgrade)

    def negotiate(self) -> None:
        """Lower our API version to the server's (``HEAD /_ping``) when it is older."""
        resp = self.open("HEAD", "/_ping")
        resp.close()
        server = resp.headers.get("api-version", "")
        if server and _version_key(server) < _version_key(self.version):
            self.version = server


def _version_key(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in v.split("."))
    except ValueError:
        return (0,)
