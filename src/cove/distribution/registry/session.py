"""HTTP to one repository on one registry endpoint, authenticated.

A ``Session`` pings ``/v2/`` first (as Docker does) to learn the auth challenge and, for an
insecure registry, whether it speaks TLS; then every request carries the earned bearer
token or basic credentials.  Connections are kept alive, one per thread, so parallel blob
transfers do not share a socket.  A later 401 (a token whose scope is too narrow) gets a new
token and one retry when the body can be sent again.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import threading
from collections.abc import Mapping
from typing import Any, BinaryIO
from urllib.parse import urlencode, urljoin, urlsplit

from cove.distribution.registry import auth
from cove.distribution.registry.endpoints import Endpoint
from cove.distribution.registry.errors import (
    RegistryError,
    RegistryUnauthorized,
    categorise,
    describe,
    network_error,
)

USER_AGENT = "cove/0.1 (distribution client)"
Body = bytes | BinaryIO | None
_NET_ERRORS = (OSError, http.client.HTTPException, ssl.SSLError)


class Session:
    def __init__(
        self,
        endpoint: Endpoint,
        repo: str,
        creds: auth.Credentials = auth.ANONYMOUS,
        actions: str = "pull",
        timeout: float = 60.0,
    ) -> None:
        self.endpoint = endpoint
        self.repo = repo
        self.creds = creds
        self.timeout = timeout
        self.scopes = [f"repository:{repo}:{actions}"]
        self._authz: str | None = None
        self._challenge: tuple[str, dict[str, str]] | None = None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pinged = False

    # --- connections ----------------------------------------------------------------------
    @property
    def base(self) -> str:
        return self.endpoint.base

    def _connect(self, scheme: str, host: str, verify: bool) -> http.client.HTTPConnection:
        conns: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "conns", {}
        )
        key = (scheme, host)
        conn = conns.get(key)
        if conn is None:
            if scheme == "https":
                ctx = ssl.create_default_context()
                if not verify:
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                conn = http.client.HTTPSConnection(
                    host, timeout=self.timeout, context=ctx, blocksize=1 << 20
                )
            else:
                conn = http.client.HTTPConnection(host, timeout=self.timeout, blocksize=1 << 20)
            conns[key] = conn
        return conn

    def _drop(self, scheme: str, host: str) -> None:
        conns = self._local.__dict__.get("conns", {})
        conn = conns.pop((scheme, host), None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for conn in self._local.__dict__.get("conns", {}).values():
            conn.close()
        self._local.__dict__["conns"] = {}

    def _raw(
        self, method: str, url: str, headers: Mapping[str, str], body: Body
    ) -> http.client.HTTPResponse:
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.netloc
        verify = self.endpoint.verify or host != self.endpoint.host
        target = parts.path + ("?" + parts.query if parts.query else "")
        hdrs = {"User-Agent": USER_AGENT, **headers}
        for attempt in (0, 1):
            conn = self._connect(scheme, host, verify)
            try:
                conn.request(method, target, body=body, headers=hdrs)
                return conn.getresponse()
            except _NET_ERRORS as e:
                self._drop(scheme, host)
                stale = isinstance(
                    e,
                    http.client.RemoteDisconnected
                    | BrokenPipeError
                    | ConnectionResetError
                    | http.client.CannotSendRequest  # an earlier answer left unread
                    | http.client.ResponseNotReady,
                )
                rewound = _rewind(body)
                if attempt == 0 and stale and rewound:
                    continue  # a kept-alive socket the server had closed
                raise network_error(method, url, host, e) from e
        raise AssertionError("unreachable")

    # --- auth -----------------------------------------------------------------------------
    def ping(self) -> None:
        """GET /v2/: learn the challenge (and, for an insecure registry, the scheme).

        Once per session, under its lock: a push sends its layers from several threads, and
        a thread that tried TLS while another one switched the endpoint to plain HTTP must
        not judge its failure against the new endpoint (it used to give up with
        "tls: WRONG_VERSION_NUMBER" when a layer was already in the registry)."""
        with self._lock:
            if not self._pinged:
                self._ping_once()

    def _ping_once(self) -> None:
        endpoint = self.endpoint
        try:
            resp = self._raw("GET", self.base + "/v2/", {}, None)
        except RegistryError:
            raise
        except Exception as e:
            if not endpoint.fallback_http or endpoint.scheme != "https":
                raise
            cause = e.__cause__
            if isinstance(cause, ConnectionRefusedError | socket.gaierror):
                # Docker reports the last scheme it tried, plain HTTP
                url = f"http://{self.endpoint.host}/v2/"
                raise network_error("GET", url, self.endpoint.host, cause) from cause
            self.endpoint = Endpoint(self.endpoint.host, "http", False, self.endpoint.mirror)
            resp = self._raw("GET", self.base + "/v2/", {}, None)
        body = resp.read()
        if resp.status == 401:
            header = resp.headers.get("WWW-Authenticate", "")
            self._challenge = auth.parse_challenge(header) if header else ("basic", {})
            self._authorize()
        elif resp.status >= 400 and resp.status != 404:
            code, text = describe(resp.status, body)
            raise categorise(resp.status, code, text)
        self._pinged = True

    def _authorize(self, scopes: list[str] | None = None) -> None:
        if self._challenge is None:
            return
        scheme, params = self._challenge
        if scheme == "basic":
            if self.creds.empty:
                raise RegistryUnauthorized("unauthorized: authentication required", 401)
            self._authz = self.creds.basic()
            return
        if self.creds.registry_token:
            self._authz = "Bearer " + self.creds.registry_token
            return
        self._authz = "Bearer " + self.fetch_token(params, scopes or self.scopes)

    def fetch_token(self, params: dict[str, str], scopes: list[str]) -> str:
        realm = params.get("realm", "")
        if not realm.startswith(("http://", "https://")):
            raise RegistryError(f"invalid auth challenge realm: {realm!r}")
        query = urlencode(auth.token_query(params, scopes))
        url = realm + ("&" if "?" in realm else "?") + query
        headers = {} if self.creds.empty or not self.creds.username else {
            "Authorization": self.creds.basic()
        }  # fmt: skip
        resp = self._raw("GET", url, headers, None)
        body = resp.read()
        if resp.status >= 400:
            code, text = describe(resp.status, body)
            if resp.status == 401 and code in ("", "UNAUTHORIZED"):
                text = "unauthorized: incorrect username or password"
            raise categorise(resp.status, code or "UNAUTHORIZED", text)
        return auth.token_from_answer(body)

    def add_scope(self, scope: str) -> None:
        """Ask for one more scope (a cross-repository mount needs pull on the source)."""
        if scope not in self.scopes:
            self.scopes.append(scope)
            if self._challenge is not None and self._challenge[0] == "bearer":
                self._authorize()

    # --- requests -------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        ok: tuple[int, ...] = (200,),
    ) -> http.client.HTTPResponse:
        """``path`` is relative to ``/v2/<repo>/`` or an absolute URL (an upload Location).
        Answers outside ``ok`` raise a categorised RegistryError (the body is consumed).
        Redirects (blob storage elsewhere) are followed without our credentials."""
        self.ping()
        url = path if "://" in path else f"{self.base}/v2/{self.repo}/{path}"
        hdrs = dict(headers or {})
        for attempt in range(6):
            send = dict(hdrs)
            own = urlsplit(url).netloc == self.endpoint.host
            if self._authz and own:
                send["Authorization"] = self._authz
            resp = self._raw(method, url, send, body)
            if resp.status in (301, 302, 303, 307, 308) and resp.headers.get("Location"):
                resp.read()
                url = urljoin(url, resp.headers["Location"])
                if resp.status == 303:
                    method, body = "GET", None
                continue
            if resp.status == 401 and attempt == 0 and own and _rewind(body):
                resp.read()
                header = resp.headers.get("WWW-Authenticate", "")
                if header:
                    self._challenge = auth.parse_challenge(header)
                    extra = self._challenge[1].get("scope")
                    if extra:
                        for s in extra.split(" "):
                            if s not in self.scopes:
                                self.scopes.append(s)
                    self._authorize()
                    continue
            if resp.status in ok:
                return resp
            data = resp.read()  # also for HEAD: an unread answer blocks the connection
            code, text = describe(resp.status, data)
            raise categorise(resp.status, code, text)
        raise RegistryError("too many redirects")

    def json(self, method: str, path: str, **kw: Any) -> Any:
        import json

        resp = self.request(method, path, **kw)
        return json.loads(resp.read() or b"null")


def _rewind(body: Body) -> bool:
    if body is None or isinstance(body, bytes):
        return True
    if isinstance(body, io.IOBase) or hasattr(body, "seek"):
        try:
            body.seek(0)
            return True
        except (OSError, ValueError):
            return False
    return False
