"""Registry credentials on the client: a docker-config-compatible file readable by root only.

The file is ``$COVE_CONFIG/config.json`` (default ``~/.cove/config.json``; mode 0600 in a
0700 directory) with Docker's shape, ``{"auths": {"<server>": {"auth": base64(user:pass)}}}``,
so it can be copied to or from ``~/.docker/config.json``.  When cove's file has no entry for a
server, ``~/.docker/config.json`` is read too (never written).  Docker Hub is filed under
``https://index.docker.io/v1/`` as the docker CLI files it.
"""

from __future__ import annotations

import base64
import json
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

INDEX_SERVER = "https://index.docker.io/v1/"


def config_dir() -> str:
    return os.environ.get("COVE_CONFIG") or os.path.join(os.path.expanduser("~"), ".cove")


def config_path() -> str:
    return os.path.join(config_dir(), "config.json")


def _read(path: str) -> dict[str, Any]:
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def server_key(server: str) -> str:
    """How a server is filed: Hub's aliases -> INDEX_SERVER; a URL -> its host."""
    s = server.strip()
    if not s:
        return INDEX_SERVER
    if "://" in s:
        s = s.split("://", 1)[1]
    s = s.split("/", 1)[0]
    if s in ("docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"):
        return INDEX_SERVER
    return s


def server_for_image(image: str) -> str:
    from cove.oci.reference import parse

    return server_key(parse(image).domain)


def lookup(server: str) -> tuple[str, str] | None:
    key = server_key(server)
    for path in (config_path(), os.path.join(os.path.expanduser("~"), ".docker", "config.json")):
        auths = _read(path).get("auths") or {}
        for name, entry in auths.items():
            if server_key(name) != key or not isinstance(entry, dict):
                continue
            raw = entry.get("auth")
            if raw:
                user, _, pw = base64.b64decode(raw).decode().partition(":")
                return user, pw
            if entry.get("username"):
                return str(entry["username"]), str(entry.get("password", ""))
    return None


def store(server: str, username: str, password: str) -> str:
    path = config_path()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    data = _read(path)
    auths = data.setdefault("auths", {})
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    auths[server_key(server)] = {"auth": token}
    _write(path, data)
    return path


def remove(server: str) -> bool:
    path = config_path()
    data = _read(path)
    auths = data.get("auths") or {}
    key = server_key(server)
    hit = [k for k in auths if server_key(k) == key]
    for k in hit:
        del auths[k]
    if hit:
        _write(path, data)
    return bool(hit)


def _write(path: str, data: dict[str, Any]) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent="\t")
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def registry_auth_header(server: str) -> str:
    """``X-Registry-Auth`` for a request: base64url JSON ({} when not logged in)."""
    found = lookup(server)
    body: dict[str, str] = {}
    if found:
        body = {"username": found[0], "password": found[1], "serveraddress": server_key(server)}
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()
