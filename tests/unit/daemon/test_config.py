from __future__ import annotations

import json
import os

import pytest

from cove.daemon.config import load
from cove.errors import InvalidArgument


def _write(tmp: str, obj: object) -> str:
    p = os.path.join(tmp, "daemon.json")
    with open(p, "w") as f:
        json.dump(obj, f)
    return p


def test_file_and_flags(tmp_path: object) -> None:
    p = _write(str(tmp_path), {"data-root": "/srv/cove", "storage-driver": "native"})
    cfg = load(p, {"hosts": ["unix:///tmp/x.sock"]})
    assert cfg.data_root == "/srv/cove" and cfg.storage_driver == "native"
    assert cfg.socket_paths == ["/tmp/x.sock"]


def test_legacy_graph_key(tmp_path: object) -> None:
    assert load(_write(str(tmp_path), {"graph": "/g"}), {}).data_root == "/g"


def test_unknown_key_and_conflicts(tmp_path: object) -> None:
    with pytest.raises(InvalidArgument, match="don't match any configuration option: bogus"):
        load(_write(str(tmp_path), {"bogus": 1}), {})
    with pytest.raises(InvalidArgument, match="both as a flag and in the configuration file"):
        load(_write(str(tmp_path), {"data-root": "/a"}), {"data-root": "/b"})
    with pytest.raises(InvalidArgument, match=r"cannot unmarshal string .* of type bool"):
        load(_write(str(tmp_path), {"debug": "yes"}), {})


def test_missing_explicit_file(tmp_path: object) -> None:
    with pytest.raises(InvalidArgument):
        load(os.path.join(str(tmp_path), "nope.json"), {})
