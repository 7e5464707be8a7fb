"""Legacy ``--link`` environment variables, as Docker writes them (pure)."""

from __future__ import annotations

from typing import Any

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
