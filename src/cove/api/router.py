"""Route table: method + path pattern -> handler, with dockerd's version prefix rules.

Patterns use ``{name}`` for one path segment and ``{name:.*}`` for a greedy span that may hold
slashes (image references such as ``localhost:5000/app:1``).  An unknown path, or a known
path with another method, answers 404 ``page not found`` as dockerd does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

from cove.api.http import Handler, Request, Response
from cove.api.validate import body_type
from cove.api.validate_types import Struct
from cove.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from cove.engine.facade import EngineFacade

API_VERSION = "1.44"
MIN_API_VERSION = "1.24"

_PREFIX = re.compile(r"^/v([0-9.]+)(/.*)?$")
_PARAM = re.compile(r"\{(\w+)(:\.\*)?\}")


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(part) if part else 0 for part in text.split("."))


_MAX = parse_version(API_VERSION)
_MIN = parse_version(MIN_API_VERSION)


def _compile(pattern: str) -> re.Pattern[str]:
    out, pos = ["^"], 0
    for m in _PARAM.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})")
        pos = m.end()
    out.append(re.escape(pattern[pos:]) + "$")
    return re.compile("".join(out))


def split_version(path: str) -> tuple[tuple[int, ...], str]:
    """(requested API version, path without the prefix); raises for unsupported versions."""
    m = _PREFIX.match(path)
    if not m:
        return _MAX, path
    text = m.group(1)
    version = parse_version(text)
    if version > _MAX:
        raise InvalidArgument(
            f"client version {text} is too new. Maximum supported API version is {API_VERSION}"
        )
    if version < _MIN:
        raise InvalidArgument(
            f"client version {text} is too old. Minimum supported API version is "
            f"{MIN_API_VERSION}, please upgrade your client to a newer version"
        )
    return version, m.group(2) or "/"


def normalize(raw_path: str) -> str:
    path = unquote(raw_path) or "/"
    while len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


class Router:
    def __init__(self) -> None:
        self._routes: dict[str, list[tuple[re.Pattern[str], Handler]]] = {}

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        body = body_type(method, pattern)
        if body is not None:
            handler = _typed(handler, body)
        self._routes.setdefault(method, []).append((_compile(pattern), handler))

    def add_all(self, routes: list[tuple[str, str, Handler]]) -> None:
        for method, pattern, handler in routes:
            self.add(method, pattern, handler)

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        """``path`` is already normalized and stripped of its version prefix."""
        for regex, handler in self._routes.get(method, ()):
            m = regex.match(path)
            if m:
                return handler, m.groupdict()
        raise NotFound("page not found")


def _typed(handler: Handler, body: Struct) -> Handler:
    """The handler, with its request's body checked against ``body`` when decoded."""

    async def typed(engine: EngineFacade, req: Request) -> Response:
        req.body_type = body
        return await handler(engine, req)

    return typed


def default_router() -> Router:
    from cove.api import (
        routes_archive,
        routes_build,
        routes_containers,
        routes_exec,
        routes_images,
        routes_networks,
        routes_ops,
        routes_registry,
        routes_swarm,
        routes_system,
        routes_volumes,
    )

    router = Router()
    for module in (
        routes_system,
        routes_containers,
        routes_exec,
        routes_images,
        routes_ops,
        routes_build,
        routes_registry,
        routes_volumes,
        routes_archive,
        routes_networks,
        routes_swarm,
    ):
        router.add_all(module.ROUTES)
    return router
