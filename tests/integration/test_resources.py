"""run/create resource flags end to end: cgroup files, rlimits, caps, init, read-only,
and Docker's refusals with nothing created."""

from __future__ import annotations

import json

import pytest

from tests import cgroups

pytestmark = pytest.mark.integration
MB = 1024 * 1024


def test_limits_reach_the_cgroups(daemon) -> None:  # type: ignore[no-untyped-def]
    cid = daemon.cove(
        "run", "-d", "-m", "64m", "--cpus", "1.5", "--cpu-shares", "512", "--pids-limit", "50",
        "--cpuset-cpus", "0", "busybox", "sleep", "100", check=True,
    ).stdout.strip()  # fmt: skip
    try:
        rd = cgroups.read
        assert rd(cid, "memory/memory.limit_in_bytes", "memory.max") == str(64 * MB)
        quota = rd(cid, "cpu/cpu.cfs_quota_us", "cpu.max").split()[0]
        assert quota == "150000"
        shares = rd(cid, "cpu/cpu.shares", "cpu.weight")
        # cgroup2 has weights: the runtime maps shares 512 below the default weight of 100
        assert (int(shares) < 100) if cgroups.UNIFIED else shares == "512"
        assert rd(cid, "pids/pids.max", "pids.max") == "50"
        assert rd(cid, "cpuset/cpuset.cpus", "cpuset.cpus") == "0"
        hc = json.loads(daemon.cove("inspect", cid).stdout)[0]["HostConfig"]
        assert hc["Memory"] == 64 * MB and hc["NanoCpus"] == 1_500_000_000
        daemon.cove("update", "-m", "96m", "--memory-swap", "200m", cid, check=True)
        assert cgroups.read(cid, "memory/memory.limit_in_bytes", "memory.max") == str(96 * MB)
    finally:
        daemon.cove("rm", "-f", cid)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["-m", "4m"], "Minimum memory limit allowed is 6MB"),
        (["--restart", "sometimes"], "invalid restart policy"),
        (["--cap-add", "NOPE"], 'unknown capability: "CAP_NOPE"'),
        (["--cpus", "64"], "Range of CPUs is from 0.01"),
    ],
)
def test_refusals_create_nothing(daemon, flags: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    before = daemon.cove("ps", "-aq").stdout
    r = daemon.cove("create", "--name", "refused", *flags, "busybox", "true")
    assert r.returncode != 0 and message in r.stderr, r.stderr
    assert daemon.cove("ps", "-aq").stdout == before


def test_ulimit_is_clamped_with_a_warning(daemon) -> None:  # type: ignore[no-untyped-def]
    r = daemon.cove(
        "run", "--rm", "--ulimit", "nofile=1048576:1048576", "busybox", "sh", "-c", "ulimit -n"
    )
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) <= 1048576
    if int(r.stdout.strip()) < 1048576:
        assert "clamped" in r.stderr


def test_init_read_only_privileged_env_file(daemon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = daemon.cove("run", "--rm", "--init", "busybox", "ps", check=True).stdout
    assert "/sbin/docker-init -- ps" in out
    r = daemon.cove("run", "--rm", "--read-only", "busybox", "touch", "/x")
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    out = daemon.cove(
        "run", "--rm", "--privileged", "busybox", "grep", "CapEff", "/proc/self/status",
        check=True,
    ).stdout  # fmt: skip
    assert "00000000a80425fb" not in out  # more than Docker's default set
    envf = tmp_path / "env"
    envf.write_text("A=1\n# comment\nB=two\n")
    out = daemon.cove(
        "run", "--rm", "--env-file", str(envf), "--add-host", "foo:10.1.2.3", "--shm-size", "16m",
        "busybox", "sh", "-c", "echo $A $B; grep foo /etc/hosts; df -k /dev/shm | tail -1",
        check=True,
    ).stdout  # fmt: skip
    assert "1 two" in out and "10.1.2.3\tfoo" in out and "16384" in out


def test_cap_drop(daemon) -> None:  # type: ignore[no-untyped-def]
    r = daemon.cove("run", "--rm", "--cap-drop", "CHOWN", "busybox", "chown", "1", "/tmp")
    assert r.returncode != 0
    daemon.cove("run", "--rm", "busybox", "chown", "1", "/tmp", check=True)
