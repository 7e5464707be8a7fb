"""Login checks and the search API (``GET /v1/search``) against a registry or index."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from cove.distribution.registry import auth
from cove.distribution.registry.endpoints import INDEX_NAME, RegistryConfig
from cove.distribution.registry.errors import RegistryError, RegistryUnauthorized
from cove.distribution.registry.session import Session
from cove.errors import InvalidArgument
from cove.oci.reference import DEFAULT_DOMAIN

INDEX_SERVER = "https://index.docker.io/v1/"


def server_domain(address: str) -> str:
    """``https://index.docker.io/v1/`` and friends -> docker.io; a URL -> its host."""
    a = address.strip() or INDEX_SERVER
    if "://" in a:
        a = urlsplit(a).netloc
    a = a.rstrip("/")
    if a in ("index.docker.io", "registry-1.docker.io", "docker.io", "registry.hub.docker.com"):
        return DEFAULT_DOMAIN
    return a


def check_login(cfg: RegistryConfig, address: str, creds: auth.Credentials) -> None:
    """Raise RegistryUnauthorized unless ``creds`` open the registry's ``/v2/``."""
    domain = server_domain(address)
    ep = cfg.endpoints(domain)[-1]
    sess = Session(ep, "", creds)
    sess.scopes = []
    try:
        sess.ping()
        resp = sess.request("GET", sess.base + "/v2/", ok=(200,))
        resp.read()
    except RegistryUnauthorized as e:
        raise RegistryUnauthorized(
            f'Get "{sess.base}/v2/": unauthorized: incorrect username or password'
            if "incorrect" in str(e) or not creds.empty
            else str(e),
            401,
            e.code,
        ) from None
    finally:
        sess.close()


def split_term(term: str) -> tuple[str, str]:
    """``127.0.0.1:5000/app`` -> ("127.0.0.1:5000", "app"); ``app`` -> ("docker.io", "app")."""
    if not term:
        raise InvalidArgument("invalid search term: empty")
    first, sep, rest = term.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return server_domain(first), rest
    return INDEX_NAME, term


def search(
    cfg: RegistryConfig, term: str, limit: int, creds: auth.Credentials
) -> list[dict[str, Any]]:
    if limit < 1 or limit > 100:
        raise InvalidArgument(
            "limit 0 is outside the range of [1, 100]".replace("0", str(limit), 1)
        )
    domain, query = split_term(term)
    ep = cfg.endpoints(domain)[-1]
    if domain == INDEX_NAME:
        from cove.distribution.registry.endpoints import Endpoint

        ep = Endpoint("index.docker.io", "https")
    sess = Session(ep, "", creds)
    sess.scopes = ["registry:catalog:*"]
    try:
        sess.ping()
        url = f"{sess.base}/v1/search?" + urlencode({"q": query, "n": str(limit)})
        try:
            resp = sess.request("GET", url)
        except RegistryError as e:
            raise RegistryError(f"Unexpected status code {e.status}", e.status, e.code) from None
        data = json.loads(resp.read() or b"{}")
    finally:
        sess.close()
    results = data.get("results") if isinstance(data, dict) else None
    return [r for r in results or [] if isinstance(r, dict)][:limit]
