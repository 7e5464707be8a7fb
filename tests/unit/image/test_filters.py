"""Image filters and ``until``."""

from __future__ import annotations

import pytest

from cove.errors import InvalidArgument
from cove.image.base import Image
from cove.image.filters import image_matches, parse_until


def _img(tags: list[str], created: str, labels: dict[str, str] | None = None) -> Image:
    return Image("sha256:" + "a" * 64, {"created": created, "config": {"Labels": labels}}, tags)


def test_filters() -> None:
    a = _img(["app:1"], "2024-01-01T00:00:00Z", {"tier": "web"})
    b = _img([], "2024-02-01T00:00:00.5Z")
    assert image_matches(a, {"reference": ["app"]}) and image_matches(a, {"reference": ["a*:1"]})
    assert not image_matches(a, {"reference": ["other"]})
    assert image_matches(b, {"dangling": ["true"]}) and not image_matches(a, {"dangling": ["1"]})
    assert image_matches(a, {"label": ["tier=web"]}) and image_matches(a, {"label!": ["x"]})
    assert not image_matches(a, {"label": ["tier=db"]})
    assert image_matches(a, {"before": ["b"]}, lambda _: b)
    assert not image_matches(a, {"since": ["b"]}, lambda _: b)
    with pytest.raises(InvalidArgument):
        image_matches(a, {"bogus": ["1"]})


def test_until() -> None:
    assert parse_until("100.5") == 100.5
    assert parse_until("1h30m", now=10_000) == 10_000 - 5400
    assert parse_until("1970-01-02T00:00:00Z") == 86400
    with pytest.raises(InvalidArgument):
        parse_until("soon")
