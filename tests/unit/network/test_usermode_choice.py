"""Which user-mode network a rootless daemon runs, and what pasta's port helper refuses."""

from __future__ import annotations

import shutil

import pytest

from cove.errors import Conflict, CoveError, InvalidArgument
from cove.network import portdriver, usermode
from cove.network.portdriver import HelperForwarder, forward_id
from cove.network.ports import Mapping


def test_slirp4netns_first_then_pasta(monkeypatch: pytest.MonkeyPatch) -> None:
    have = {"pasta", "slirp4netns"}
    monkeypatch.setattr(shutil, "which", lambda n: f"/usr/bin/{n}" if n in have else None)
    assert usermode.choose() == "slirp4netns"
    assert usermode.choose("pasta") == "pasta"
    have.discard("slirp4netns")
    assert usermode.choose() == "pasta"
    with pytest.raises(CoveError, match="apt-get install slirp4netns"):
        usermode.choose("slirp4netns")
    with pytest.raises(CoveError, match="must be one of slirp4netns, pasta"):
        usermode.choose("vpnkit")
    have.clear()
    with pytest.raises(CoveError, match="apt-get install slirp4netns"):
        usermode.choose()


def test_sctp_is_refused_with_pasta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(portdriver, "unprivileged_port_start", lambda: 1024)
    with pytest.raises(InvalidArgument, match="publishes tcp and udp ports, not sctp"):
        HelperForwarder("/nonexistent").add(Mapping("sctp", 53, "", 5353), "web")


def test_a_refused_add_is_dockerds_conflict() -> None:
    assert forward_id({"return": {"id": 3}}, "0.0.0.0:8080", "web") == 3
    with pytest.raises(Conflict, match=r"Bind for 0\.0\.0\.0:8080 failed: port is already"):
        forward_id({"error": "Address in use"}, "0.0.0.0:8080", "web")
