"""Optional access control for the registry: basic auth, or a bearer-token flow of its own.

``basic``: every request needs ``Authorization: Basic`` with a configured user.
``token``: the registry answers 401 with ``WWW-Authenticate: Bearer realm=<its /token>``;
``GET /token?service=..&scope=..`` (with basic credentials, or anonymous when anonymous
pulls are allowed) returns an HMAC-signed token listing the granted scopes, which later
requests present as ``Authorization: Bearer``.  The same dance Docker Hub does, so every
client's token code path is exercised against it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time

from cove.registry.http import Request, Response, json_response
from cove.util.timefmt import rfc3339

SERVICE = "cove-registry"
TOKEN_TTL = 300


def _unauthorized(challenge: str, message: str = "authentication required") -> Response:
    body = {"errors": [{"code": "UNAUTHORIZED", "message": message, "detail": None}]}
    return json_response(401, body, {"WWW-Authenticate": challenge})


class Authorizer:
    token_path = "/token"

    def __init__(
        self,
        users: dict[str, str],
        mode: str = "basic",
        realm: str = "",
        anonymous_pull: bool = False,
        secret: bytes | None = None,
    ) -> None:
        self.users = users
        self.mode = mode
        self.realm = realm
        self.anonymous_pull = anonymous_pull
        self.secret = secret or os.urandom(32)

    # --- credentials ----------------------------------------------------------------------
    def _basic_user(self, req: Request) -> str | None:
        header = req.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            user, _, pw = base64.b64decode(header[6:].strip()).decode().partition(":")
        except ValueError:
            return None
        want = self.users.get(user)
        if want is not None and hmac.compare_digest(want.encode(), pw.encode()):
            return user
        return None

    # --- checks ---------------------------------------------------------------------------
    def check(self, req: Request, scope: str) -> Response | None:
        if self.mode == "basic":
            if self._basic_user(req) is not None:
                return None
            return _unauthorized(f'Basic realm="{SERVICE}"')
        header = req.headers.get("authorization", "")
        granted = self._verify(header[7:].strip()) if header.lower().startswith("bearer ") else None
        if granted is not None and (not scope or _covers(granted, scope)):
            return None
        challenge = f'Bearer realm="{self.realm}",service="{SERVICE}"'
        if scope:
            challenge += f',scope="{scope}"'
        return _unauthorized(challenge)

    def issue(self, req: Request) -> Response:
        """The token endpoint."""
        user = None
        if req.headers.get("authorization"):
            user = self._basic_user(req)
            if user is None:
                return _unauthorized(f'Basic realm="{SERVICE}"', "incorrect username or password")
        granted: list[str] = []
        for scope in " ".join(req.query.get("scope", [])).split():
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            allowed = actions.split(",")
            if user is None:
                allowed = [a for a in allowed if a == "pull" and self.anonymous_pull]
            if allowed:
                granted.append(f"{kind}:{name}:{','.join(allowed)}")
        if user is None and not self.anonymous_pull and not granted and req.query.get("scope"):
            return _unauthorized(f'Basic realm="{SERVICE}"')
        now = int(time.time())
        claims = {"sub": user or "", "access": granted, "exp": now + TOKEN_TTL}
        token = self._sign(claims)
        return json_response(
            200,
            {
                "token": token,
                "access_token": token,
                "expires_in": TOKEN_TTL,
                "issued_at": rfc3339(now),
            },
        )

    def _sign(self, claims: dict[str, object]) -> str:
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        sig = hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()
        return f"{payload}.{sig}"

    def _verify(self, token: str) -> list[str] | None:
        payload, _, sig = token.partition(".")
        want = hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        if int(claims.get("exp", 0)) < time.time():
            return None
        return [str(x) for x in claims.get("access", [])]


def _covers(granted: list[str], scope: str) -> bool:
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    have: set[str] = set()
    for g in granted:
        gk, _, grest = g.partition(":")
        gname, _, gactions = grest.rpartition(":")
        if gk == kind and gname == name:
            have.update(gactions.split(","))
    return "*" in have or all(a in have for a in actions.split(","))
