"""Legacy ``--link``: how a link is recorded, the links a container has and the address it
reaches each one at, and the environment variables Docker writes for them (pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cove.engine.networks.records import endpoints
from cove.engine.record import Container
from cove.util.jsontypes import Json

_SKIP = ("HOME", "HOSTNAME", "PATH")


def link_env(me: str, alias: str, target: str, ip: str, cfg: dict[str, Any]) -> list[str]:
    prefix = alias.upper().replace("-", "_").replace(".", "_")
    out = [f"{prefix}_NAME=/{me}/{alias}"]
    keys = sorted(
        (cfg.get("ExposedPorts") or {}),
        key=lambda k: (int(k.partition("/")[0]), k.partition("/")[2]),
    )
    for i, key in enumerate(keys):
        port, _, proto = key.partition("/")
        proto = proto or "tcp"
        url = f"{proto}://{ip}:{port}"
        if i == 0:
            out.append(f"{prefix}_PORT={url}")
        base = f"{prefix}_PORT_{port}_{proto.upper()}"
        out += [
            f"{base}={url}",
            f"{base}_ADDR={ip}",
            f"{base}_PORT={port}",
            f"{base}_PROTO={proto}",
        ]
    for e in cfg.get("Env") or []:
        k, _, v = str(e).partition("=")
        if k not in _SKIP:
            out.append(f"{prefix}_ENV_{k}={v}")
    return out


def record_links(
    hc: dict[str, Any], me: str, user_defined: bool, target_name: Callable[[str], str]
) -> None:
    """Record ``HostConfig.Links`` as dockerd does at create on the default bridge: each link
    names an existing container (``target_name`` resolves a name or ID, raising NotFound) and
    is stored as ``/<target>:/<me>/<alias>``.

    On a user-defined network a link is only a DNS alias whose target may come later; it stays
    as given (dockerd moves it to the endpoint's ``Links``: see docs/compatibility.md).
    """
    links = [str(x) for x in hc.get("Links") or []]
    if not links or user_defined:
        return
    out = []
    for link in links:
        name, _, alias = link.partition(":")
        alias = alias.rsplit("/", 1)[-1] if alias else name.lstrip("/")
        out.append(f"/{target_name(name.lstrip('/'))}:/{me}/{alias}")
    hc["Links"] = out


def user_defined(hc: Json) -> bool:
    """Whether the network mode names a user-defined network (links are DNS aliases there)."""
    mode = str(hc.get("NetworkMode") or "default")
    return mode not in ("default", "bridge", "host", "none") and not mode.startswith("container:")


def links_of(c: Container) -> list[tuple[str, str]]:
    """(name, alias) of every link: ``--link`` and the endpoints' own ``Links``."""
    out = [link_parts(str(x)) for x in c.host_config.get("Links") or []]
    for ep in endpoints(c).values():
        out += [link_parts(str(x)) for x in ep.get("Links") or []]
    return out


def has_links(c: Container) -> bool:
    """Whether ``c`` has any link (``links_of`` not empty), without building the list:
    asked of every running container at each start."""
    if c.host_config.get("Links"):
        return True
    return any(ep.get("Links") for ep in endpoints(c).values())


def link_parts(link: str) -> tuple[str, str]:
    """ "name:alias" or Docker's stored "/name:/me/alias" -> (name, alias)."""
    name, _, alias = link.partition(":")
    name = name.lstrip("/")
    alias = alias.rsplit("/", 1)[-1] if alias else name
    return name, alias


def shared_ip(c: Container, other: Container) -> str:
    mine = endpoints(c)
    for name, ep in endpoints(other).items():
        if name in mine and ep.get("IPAddress"):
            return str(ep["IPAddress"])
    return ""
