"""Image filters and ``until``."""

from __future__ import annotations

import pytest

from cove.errors import InvalidArgument
from cove.image.base import Image
from cove.image.filters import image_matches, matching_refs, parse_until


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


def test_reference_filter_keeps_only_matching_names() -> None:
    """``images busybox:1`` lists the busybox:1 row only, as dockerd narrows RepoTags."""
    img = _img(["busybox:1", "busybox:latest", "reg:5000/x/busybox:1"], "2024-01-01T00:00:00Z")
    img.repo_digests = ["busybox@sha256:" + "b" * 64]
    assert matching_refs(img, ["busybox:1"]) == (["busybox:1"], [])
    tags, digests = matching_refs(img, ["busybox"])
    assert tags == ["busybox:1", "busybox:latest"] and digests == img.repo_digests
    # Go's path.Match: "*" does not cross "/"
    assert matching_refs(img, ["*:1"])[0] == ["busybox:1"]
    assert matching_refs(img, ["*/*/busybox"])[0] == ["reg:5000/x/busybox:1"]
    assert matching_refs(img, ["busy[a-c]ox:?"])[0] == ["busybox:1"]
    assert not image_matches(img, {"reference": ["nosuch"]})
