"""HostConfig checks with dockerd's words, and the OCI resources they become."""

from __future__ import annotations

import pytest

from cove.engine.containers.resources import (
    check_host_config,
    check_resources,
    check_restart_policy,
    oci_resources,
    with_init,
)
from cove.errors import InvalidArgument

MB = 1024 * 1024


def test_memory_minimum() -> None:
    with pytest.raises(InvalidArgument, match="Minimum memory limit allowed is 6MB"):
        check_resources({"Memory": 4 * MB}, ncpu=2, swap_ok=True)


def test_swap_needs_memory_and_is_larger() -> None:
    with pytest.raises(InvalidArgument, match="always set the Memory limit"):
        check_resources({"MemorySwap": 64 * MB}, ncpu=2, swap_ok=True)
    with pytest.raises(InvalidArgument, match="memoryswap limit should be larger"):
        check_resources({"Memory": 64 * MB, "MemorySwap": 32 * MB}, ncpu=2, swap_ok=True)


def test_swap_defaults_to_twice_memory() -> None:
    hc = {"Memory": 64 * MB}
    assert check_resources(hc, ncpu=2, swap_ok=True) == []
    assert hc["MemorySwap"] == 128 * MB
    res = oci_resources(hc)
    assert res["memory"] == {"limit": 64 * MB, "swap": 128 * MB}


def test_no_swap_accounting_warns() -> None:
    hc = {"Memory": 64 * MB}
    warnings = check_resources(hc, ncpu=2, swap_ok=False)
    assert "Memory limited without swap" in warnings[0]


def test_cpus() -> None:
    with pytest.raises(InvalidArgument, match=r"Range of CPUs is from 0\.01 to 2\.00"):
        check_resources({"NanoCpus": 3 * 10**9}, ncpu=2, swap_ok=True)
    with pytest.raises(InvalidArgument, match="Nano CPUs and CPU Period"):
        check_resources({"NanoCpus": 10**9, "CpuPeriod": 1000}, ncpu=2, swap_ok=True)
    res = oci_resources({"NanoCpus": 1_500_000_000, "CpuShares": 512, "CpusetCpus": "0"})
    assert res["cpu"] == {"shares": 512, "period": 100000, "quota": 150000, "cpus": "0"}


def test_cpuset() -> None:
    with pytest.raises(InvalidArgument, match="Invalid value x for cpuset cpus"):
        check_resources({"CpusetCpus": "x"}, ncpu=2, swap_ok=True)
    with pytest.raises(InvalidArgument, match="Requested CPUs are not available"):
        check_resources({"CpusetCpus": "0-3"}, ncpu=2, swap_ok=True)


def test_shares_floor_warns() -> None:
    hc = {"CpuShares": 1}
    assert check_resources(hc, ncpu=2, swap_ok=True) == [
        "Changing requested CPUShares of 1 to minimum allowed of 2"
    ]
    assert hc["CpuShares"] == 2


def test_pids() -> None:
    assert oci_resources({"PidsLimit": 10}) == {"pids": {"limit": 10}}
    assert oci_resources({"PidsLimit": -1}) == {}


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"Name": "sometimes"}, "invalid restart policy: unknown policy 'sometimes'"),
        ({"Name": "always", "MaximumRetryCount": 3}, "can only be used with 'on-failure'"),
        ({"Name": "on-failure", "MaximumRetryCount": -1}, "cannot be negative"),
    ],
)
def test_restart_policy(policy: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        check_restart_policy({"RestartPolicy": policy})


def test_autoremove_with_restart() -> None:
    with pytest.raises(InvalidArgument, match="can't create 'AutoRemove' container"):
        check_restart_policy({"RestartPolicy": {"Name": "always"}, "AutoRemove": True})


def test_unknown_capability() -> None:
    with pytest.raises(InvalidArgument, match='unknown capability: "CAP_NOPE"'):
        check_host_config({"CapAdd": ["NOPE"]}, ncpu=2)


def test_ulimit_clamped_with_warning() -> None:
    hc = {"Ulimits": [{"Name": "nofile", "Soft": 1048576, "Hard": 1048576}]}
    warnings = check_host_config(hc, {"RLIMIT_NOFILE": 20000}, ncpu=2)
    assert any("nofile" in w and "20000" in w for w in warnings)


def test_ulimit_soft_above_hard() -> None:
    hc = {"Ulimits": [{"Name": "nofile", "Soft": 20, "Hard": 10}]}
    with pytest.raises(InvalidArgument, match="soft limit must be less than or equal"):
        check_host_config(hc, None, ncpu=2)


def test_init_wraps_the_command() -> None:
    mounts: list[dict[str, object]] = []
    args = with_init({"Init": True}, ["sleep", "1"], mounts)
    assert args == ["/sbin/docker-init", "--", "sleep", "1"]
    assert mounts[0]["destination"] == "/sbin/docker-init"
    assert with_init({}, ["x"], mounts) == ["x"]


def test_isolation_other_than_default_is_refused_with_dockerds_words() -> None:
    assert check_host_config({"Isolation": "default"}) == []
    with pytest.raises(InvalidArgument, match='Invalid isolation: "hyperv" - linux only'):
        check_host_config({"Isolation": "hyperv"})
