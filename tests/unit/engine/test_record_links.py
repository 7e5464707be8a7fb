"""``HostConfig.Links`` recorded as dockerd records it (issue 15, item 7)."""

from __future__ import annotations

from typing import Any

import pytest

from cove.engine.networks.links import record_links
from cove.errors import NotFound


def _names(ref: str) -> str:
    if ref == "missing":
        raise NotFound("No such container: missing")
    return {"a1b2c3": "db"}.get(ref, ref)


def test_default_bridge_links_are_stored_with_both_names() -> None:
    hc: dict[str, Any] = {"Links": ["db", "a1b2c3:dbx", "/db:/other/cache"]}
    record_links(hc, "app", False, _names)
    assert hc["Links"] == ["/db:/app/db", "/db:/app/dbx", "/db:/app/cache"]
    with pytest.raises(NotFound):
        record_links({"Links": ["missing"]}, "app", False, _names)


def test_user_defined_network_links_stay_as_given() -> None:
    hc: dict[str, Any] = {"Links": ["later:dbx"]}
    record_links(hc, "app", True, _names)  # the target may not exist yet
    assert hc["Links"] == ["later:dbx"]
