"""Swarm endpoints: cove has no swarm mode, and says so the way a dockerd outside a swarm
does (HTTP 503), which clients such as docker-py treat as "not part of a swarm"."""

from __future__ import annotations

from cove.api.http import Handler, Request, Response
from cove.engine.facade import EngineFacade
from cove.errors import Unavailable

_NOT_MANAGER = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to '
    "connect this node to swarm and try again."
)


async def not_manager(engine: EngineFacade, req: Request) -> Response:
    raise Unavailable(_NOT_MANAGER)


async def leave(engine: EngineFacade, req: Request) -> Response:
    raise Unavailable("This node is not part of a swarm")


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/swarm", not_manager),
    ("POST", "/swarm/init", not_manager),
    ("POST", "/swarm/join", not_manager),
    ("POST", "/swarm/update", not_manager),
    ("GET", "/swarm/unlockkey", not_manager),
    ("POST", "/swarm/leave", leave),
    ("GET", "/nodes", not_manager),
    ("GET", "/services", not_manager),
    ("POST", "/services/create", not_manager),
    ("GET", "/tasks", not_manager),
    ("GET", "/secrets", not_manager),
    ("GET", "/configs", not_manager),
]
