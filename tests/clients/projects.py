"""The small compose project that the client suites share: a web service built FROM busybox
(busybox httpd serving one page) with a health check and a port published on 127.0.0.1, and
services that wait for it to be healthy.  compose.yaml is written as JSON (YAML's subset),
so each suite adds its own keys as data."""

from __future__ import annotations

import json
import os
from typing import Any

PAGE_URL = "http://127.0.0.1:8080/index.html"


def web_dockerfile(page: str) -> str:
    return (
        f"FROM busybox\nRUN mkdir -p /www && echo {page} > /www/index.html\nEXPOSE 8080\n"
        'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n'
    )


def web_service(**extra: Any) -> dict[str, Any]:
    probe = ["CMD", "wget", "-q", "-O", "/dev/null", PAGE_URL]
    return {
        "build": ".",
        "healthcheck": {"test": probe, "interval": "1s", "retries": 60},
        "ports": ["127.0.0.1::8080"],
        **extra,
    }


def waiter(**extra: Any) -> dict[str, Any]:
    """A busybox service that starts once web is healthy, prints its page and stays up."""
    return {
        "image": "busybox",
        "command": ["sh", "-c", "wget -q -O - http://web:8080/index.html && exec sleep 300"],
        "depends_on": {"web": {"condition": "service_healthy"}},
        **extra,
    }


def write_project(root: str, page: str, services: dict[str, Any], **top: Any) -> None:
    """Dockerfile and compose.yaml in ``root``; ``top``: networks, volumes, ..."""
    with open(os.path.join(root, "Dockerfile"), "w") as f:
        f.write(web_dockerfile(page))
    with open(os.path.join(root, "compose.yaml"), "w") as f:
        json.dump({"services": services, **top}, f, indent=2)
