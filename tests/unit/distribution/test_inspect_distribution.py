"""The distribution-inspect answer for an image index: one platform per entry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cove.distribution.registry import auth, inspect
from cove.distribution.registry.endpoints import RegistryConfig
from cove.distribution.registry.manifest import OCI_INDEX
from cove.oci.reference import parse

INDEX = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": "m", "digest": "sha256:" + "1" * 64, "size": 1,
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": "m", "digest": "sha256:" + "2" * 64, "size": 1,
             "platform": {"architecture": "arm64", "os": "linux", "variant": "v8",
                          "os.version": ""}},
        ],
    }
).encode()  # fmt: skip


class _Sess:
    closed = False

    def close(self) -> None:
        self.closed = True


def test_index_lists_each_platform_with_only_the_fields_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sess = _Sess()

    def fake_open(*_: Any) -> tuple[Any, bytes, str, str]:
        return sess, INDEX, OCI_INDEX, "sha256:" + "9" * 64

    monkeypatch.setattr(inspect, "open_session", fake_open)
    got = inspect.inspect_distribution(
        RegistryConfig([], [], 3, 5), parse("example.test/x:1"), auth.ANONYMOUS
    )
    assert got["Descriptor"] == {"mediaType": OCI_INDEX, "digest": "sha256:" + "9" * 64,
                                 "size": len(INDEX)}  # fmt: skip
    assert got["Platforms"] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux", "variant": "v8"},
    ]
    assert sess.closed
