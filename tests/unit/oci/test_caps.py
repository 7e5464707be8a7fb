"""Capabilities: moby's TweakCapabilities plus clamping to the host's bounding set."""

from __future__ import annotations

import pytest

from cove.errors import InvalidArgument
from cove.oci.caps import (
    ALL_CAPS,
    DEFAULT_CAPS,
    capability_object,
    caps_from_mask,
    normalize,
    tweak,
)

# This machine's CapBnd: everything up to CAP_CHECKPOINT_RESTORE but CAP_SYS_RESOURCE.
HOST = caps_from_mask(0x000001FFFEFFFFFF)


def test_mask_decoding() -> None:
    assert len(ALL_CAPS) == 41
    assert "CAP_SYS_RESOURCE" not in HOST
    assert len(HOST) == 40
    assert caps_from_mask(0b101) == {"CAP_CHOWN", "CAP_DAC_READ_SEARCH"}
    assert caps_from_mask(1 << 63) == frozenset()


def test_docker_default_mask() -> None:
    mask = sum(1 << ALL_CAPS.index(c) for c in DEFAULT_CAPS)
    assert mask == 0xA80425FB  # CapEff of a default docker container


def test_normalize() -> None:
    assert normalize(["net_admin", "CAP_SYS_TIME", "all"]) == [
        "CAP_NET_ADMIN",
        "CAP_SYS_TIME",
        "ALL",
    ]
    with pytest.raises(InvalidArgument) as exc:
        normalize(["foo"])
    assert exc.value.message == 'unknown capability: "CAP_FOO"'


def test_defaults_add_drop() -> None:
    assert tweak() == list(DEFAULT_CAPS)
    caps = tweak(["NET_ADMIN", "chown"], ["mknod", "CAP_KILL"])
    assert "CAP_NET_ADMIN" in caps and "CAP_MKNOD" not in caps and "CAP_KILL" not in caps
    assert caps.count("CAP_CHOWN") == 1


def test_all() -> None:
    assert tweak(cap_drop=["ALL"]) == []
    assert tweak(["NET_RAW"], ["ALL"]) == ["CAP_NET_RAW"]
    assert tweak(["ALL"], ["SYS_ADMIN"], host=HOST) == [
        c for c in ALL_CAPS if c not in ("CAP_SYS_ADMIN", "CAP_SYS_RESOURCE")
    ]


def test_privileged_and_adds_are_clamped_to_the_host() -> None:
    assert tweak(privileged=True, host=HOST) == [c for c in ALL_CAPS if c in HOST]
    assert tweak(privileged=True) == list(ALL_CAPS)
    assert "CAP_SYS_RESOURCE" not in tweak(["SYS_RESOURCE"], host=HOST)
    assert "CAP_SYS_RESOURCE" in tweak(["SYS_RESOURCE"])


def test_capability_object_by_user() -> None:
    root = capability_object(["CAP_KILL"], 0)
    assert root == {
        "bounding": ["CAP_KILL"],
        "effective": ["CAP_KILL"],
        "permitted": ["CAP_KILL"],
    }
    assert capability_object(["CAP_KILL"], 1000) == {"bounding": ["CAP_KILL"]}
