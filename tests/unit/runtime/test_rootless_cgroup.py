"""Rootless limits with a delegated cgroup v2 subtree: what is kept, dropped and shown."""

from __future__ import annotations

import os

import pytest

from cove.errors import InvalidArgument
from cove.runtime import rootless_cgroup
from cove.runtime.rootless import adjust, discard_limits, rootless_info


def test_delegated_controllers_keep_their_limits() -> None:
    hc = {"Memory": 64 << 20, "PidsLimit": 40, "NanoCpus": 500_000_000, "CpuShares": 512,
          "CpusetCpus": "0", "MemorySwappiness": 10}  # fmt: skip
    warnings = discard_limits(hc, frozenset({"memory", "pids", "cpu"}))
    assert hc["Memory"] == 64 << 20 and hc["PidsLimit"] == 40 and hc["CpuShares"] == 512
    assert hc["NanoCpus"] == 500_000_000
    assert hc["CpusetCpus"] == "" and hc["MemorySwappiness"] is None  # no v2 form
    assert warnings == [
        "Your kernel does not support memory swappiness capabilities or the cgroup is not "
        "mounted. Memory swappiness discarded.",
        "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.",
    ]


def test_cpus_without_the_cpu_controller_is_an_error() -> None:
    with pytest.raises(InvalidArgument, match="NanoCPUs can not be set"):
        discard_limits({"NanoCpus": 1_000_000_000}, frozenset({"memory"}))


def test_config_goes_under_the_delegated_cgroup() -> None:
    cid = "ab" * 32
    config = {"linux": {"cgroupsPath": f"/cove/{cid}", "resources": {"devices": [{}]}}}
    adjust(config, "/user.slice/u/cove")
    assert config["linux"]["cgroupsPath"] == f"/user.slice/u/cove/cove-{cid}"
    assert "devices" not in config["linux"]["resources"]
    config = {"linux": {"cgroupsPath": f"/cove/{cid}"}}
    assert "cgroupsPath" not in adjust(config)["linux"]


def test_info_shows_what_is_delegated() -> None:
    info: dict[str, object] = {"CgroupVersion": "2", "Warnings": None}
    rootless_info(info, frozenset({"memory", "pids"}))
    assert info["CgroupDriver"] == "cgroupfs" and info["MemoryLimit"] and info["PidsLimit"]
    assert not info["CPUShares"] and info["Warnings"] is None
    info = {"CgroupVersion": "2", "Warnings": None}
    rootless_info(info)
    assert info["CgroupDriver"] == "none"
    assert info["Warnings"] == [
        "WARNING: Running in rootless-mode without cgroups. Systemd is required to enable "
        "cgroups in rootless-mode."
    ]


def test_no_delegation_on_a_v1_tree(tmp_path: str) -> None:
    got, why = rootless_cgroup.delegate(str(tmp_path))
    assert got is None and "not cgroup v2" in why


def test_own_cgroup_reads_the_unified_line(tmp_path: str) -> None:
    path = os.path.join(str(tmp_path), "cgroup")
    with open(path, "w") as f:
        f.write("1:name=systemd:/x\n0::/user.slice/user-1000.slice/user@1000.service/app\n")
    assert rootless_cgroup.own_cgroup(path) == "/user.slice/user-1000.slice/user@1000.service/app"
    with open(path, "w") as f:
        f.write("1:memory:/\n")
    assert rootless_cgroup.own_cgroup(path) == ""
