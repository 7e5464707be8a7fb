"""``docker events --filter`` as dockerd applies it (issue 15, item 11)."""

from __future__ import annotations

from typing import Any

from cove.engine.events import event_matches

CID = "a1b2c3d4e5f6" + "0" * 52


def ev(type_: str, action: str, ident: str, **attrs: str) -> dict[str, Any]:
    return {"Type": type_, "Action": action, "Actor": {"ID": ident, "Attributes": attrs},
            "scope": "local"}  # fmt: skip


START = ev("container", "start", CID, name="web", image="busybox:latest", tier="front")
HEALTH = ev("container", "exec_create: /bin/sh -c true", CID, name="web", image="busybox")
TAG = ev("image", "tag", "sha256:" + "f" * 64, name="reg:5000/busybox:1")
NET = ev("network", "connect", "9" * 64, name="appnet", container=CID, type="bridge")


def test_container_filter_keeps_only_that_containers_events() -> None:
    for want in ("web", "we", CID, CID[:12]):
        f = {"container": [want]}
        assert event_matches(START, f) and event_matches(HEALTH, f)
        assert not event_matches(TAG, f) and not event_matches(NET, f)
    assert not event_matches(START, {"container": ["db"]})


def test_image_network_type_event_and_label_filters() -> None:
    assert event_matches(START, {"image": ["busybox"]}) and event_matches(
        TAG, {"image": ["reg:5000/busybox"]}
    )
    assert not event_matches(START, {"image": ["alpine"]})
    assert event_matches(NET, {"network": ["appnet"]}) and not event_matches(
        START, {"network": ["appnet"]}
    )
    assert event_matches(TAG, {"type": ["image"]}) and not event_matches(START, {"type": ["image"]})
    assert event_matches(HEALTH, {"event": ["exec_create"]})  # dockerd's prefix rule for these
    assert not event_matches(START, {"event": ["sta"]}) and event_matches(
        START, {"event": ["start"]}
    )
    assert event_matches(START, {"label": ["tier=front"]}) and not event_matches(
        START, {"label": ["tier=back"]}
    )
