"""Registry authentication: the ``WWW-Authenticate`` challenge, bearer tokens, basic auth.

The dance Docker Hub defined and every distribution registry follows: a request answered
401 carries ``WWW-Authenticate: Bearer realm="..",service="..",scope=".."``; the client asks
the realm for a token (anonymously, or with basic credentials) and retries with
``Authorization: Bearer <token>``.  A ``Basic`` challenge means sending the credentials
directly.  Pure functions here except ``fetch_token`` (one HTTP GET).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from cove.errors import InvalidArgument

_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*,?')


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""  # an OAuth refresh token a login may have returned
    registry_token: str = ""  # a bearer token to send as is

    @property
    def empty(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


ANONYMOUS = Credentials()


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="x",service="y"`` -> ("bearer", {"realm": "x", "service": "y"})."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if not m:
            break
        value = m.group(2) if m.group(2) is not None else m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
        pos = m.end()
    return scheme.lower(), params


def decode_registry_auth(header: str | None) -> Credentials:
    """The API's ``X-Registry-Auth``: base64url JSON {username, password, identitytoken,
    registrytoken}; empty or ``{}`` means anonymous."""
    if not header:
        return ANONYMOUS
    text = header.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data: Any = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError) as e:  # RecursionError: nested past the parser
        raise InvalidArgument(f"invalid X-Registry-Auth header: {e}") from None
    if not isinstance(data, dict):
        return ANONYMOUS
    return Credentials(
        str(data.get("username") or ""),
        str(data.get("password") or ""),
        str(data.get("identitytoken") or ""),
        str(data.get("registrytoken") or ""),
    )


def encode_registry_auth(creds: Credentials) -> str:
    body = {"username": creds.username, "password": creds.password}
    if creds.identity_token:
        body["identitytoken"] = creds.identity_token
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


def token_query(params: dict[str, str], scopes: list[str]) -> list[tuple[str, str]]:
    q: list[tuple[str, str]] = []
    if params.get("service"):
        q.append(("service", params["service"]))
    for s in scopes:
        q.append(("scope", s))
    return q


def token_from_answer(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
    if not token:
        raise InvalidArgument("authorization server did not include a token in the response")
    return str(token)
