from __future__ import annotations

from typing import Any

import pytest

from cove.api.http import Request
from cove.api.router import default_router
from cove.api.routes_build import build, options
from cove.errors import InvalidArgument


def _req(**query: Any) -> Request:
    q = {k: v if isinstance(v, list) else [v] for k, v in query.items()}
    return Request("POST", "/build", q, {}, None, (1, 44))  # type: ignore[arg-type]


def test_query_options_as_the_docker_cli_sends_them() -> None:
    o = options(
        _req(t=["a:1", "b"], dockerfile="sub/Dockerfile", q="1", nocache="1", rm="0",
             forcerm="1", buildargs='{"A":"1","B":null}', labels='{"l":"v"}', target="t",
             networkmode="default", platform="linux/amd64", cachefrom='["x"]')
    )  # fmt: skip
    assert o.tags == ["a:1", "b"] and o.dockerfile == "sub/Dockerfile"
    assert o.quiet and o.nocache and not o.rm and o.forcerm and not o.pull
    assert o.buildargs == {"A": "1", "B": None} and o.labels == {"l": "v"}
    assert o.target == "t" and o.network is None and o.cachefrom == ["x"]
    defaults = options(_req())
    assert defaults.rm and defaults.dockerfile == "Dockerfile" and defaults.tags == []


def test_bad_json_is_a_bad_request() -> None:
    with pytest.raises(InvalidArgument):
        options(_req(buildargs="{nope"))
    with pytest.raises(InvalidArgument):
        options(_req(labels="[1]"))


def test_registered() -> None:
    handler, _ = default_router().resolve("POST", "/build")
    assert handler is build
