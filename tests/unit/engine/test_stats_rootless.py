"""A rootless daemon's stats: from the container's cgroup in the user's delegated cgroup2
subtree, or, with no cgroup at all (a cgroup v1 host), dockerd's empty sample."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from cove.engine.containers import cgroupread, stats
from cove.engine.state import Status


def _running() -> Any:
    return cast(Any, SimpleNamespace(status=Status.RUNNING, name="web", id="c" * 64,
                                     state={"Pid": 4242}))  # fmt: skip


def test_without_cgroups_the_sample_is_empty() -> None:
    s = stats.sample(_running(), 2, "none")
    assert (s["read"], s["id"], s["name"]) == (stats.ZERO_TIME, "c" * 64, "/web")
    assert s["memory_stats"] == {} and s["pids_stats"] == {} and "networks" not in s


def test_delegated_cgroup_of_the_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "memory.current").write_text("4096\n")
    (tmp_path / "memory.max").write_text("67108864\n")
    (tmp_path / "pids.current").write_text("3\n")
    (tmp_path / "cpu.stat").write_text("usage_usec 10\n")
    asked = []
    monkeypatch.setattr(stats, "process_cgroup", lambda pid: asked.append(pid) or str(tmp_path))
    s = stats.sample(_running(), 2, "delegated")
    assert asked == [4242]
    assert s["memory_stats"]["limit"] == 67108864 and s["pids_stats"] == {"current": 3}
    assert s["cpu_stats"]["cpu_usage"]["total_usage"] == 10_000


def test_process_cgroup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"/proc/7/cgroup": "12:pids:/x\n0::/user/cove-abc\n", "/proc/8/cgroup": "1:cpu:/\n"}
    monkeypatch.setattr(cgroupread, "read", files.get)
    assert cgroupread.process_cgroup(7) == "/sys/fs/cgroup/user/cove-abc"
    assert cgroupread.process_cgroup(8) is None and cgroupread.process_cgroup(0) is None
