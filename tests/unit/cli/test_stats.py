"""``cove stats`` rows as the docker CLI renders the same samples (checked beside the docker
CLI 28.2 and Debian's 20.10 against a rootless coved: tests/integration/rootless)."""

from __future__ import annotations

from typing import Any

from cove.cli.stats import row

CID = "e96fd49292d0a491d525a4200b8892cee8a54b0313fa7c321da15e62c9257dc7"
# dockerd's empty sample (a stopped container; a rootless daemon without cgroups), as coved
# sends it: the name and id, every figure zero, nothing in memory_stats or pids_stats
EMPTY: dict[str, Any] = {
    "read": "0001-01-01T00:00:00Z", "name": "/st1", "id": CID, "num_procs": 0,
    "pids_stats": {}, "blkio_stats": {"io_service_bytes_recursive": None},
    "cpu_stats": {"cpu_usage": {"total_usage": 0}}, "memory_stats": {},
    "precpu_stats": {"cpu_usage": {"total_usage": 0}},
}  # fmt: skip


def test_empty_sample_shows_zeros_as_the_docker_cli_does() -> None:
    assert row(EMPTY, "st1", True) == {
        "ID": CID[:12], "Container": "st1", "Name": "st1", "CPUPerc": "0.00%",
        "MemUsage": "0B / 0B", "MemPerc": "0.00%", "NetIO": "0B / 0B",
        "BlockIO": "0B / 0B", "PIDs": "0",
    }  # fmt: skip


def test_name_is_the_samples_and_no_trunc_keeps_the_id() -> None:
    r = row(EMPTY, CID[:5], False)
    assert (r["Container"], r["Name"], r["ID"]) == (CID[:5], "st1", CID)


def test_a_full_sample() -> None:
    s = {
        "name": "/web", "id": CID,
        "cpu_stats": {"cpu_usage": {"total_usage": 3_000_000}, "system_cpu_usage": 20_000_000,
                      "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000}, "system_cpu_usage": 10_000_000},
        "memory_stats": {"usage": 3 << 20, "limit": 64 << 20,
                         "stats": {"total_inactive_file": 1 << 20}},
        "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 0}},
        "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 4096},
                                                       {"op": "Write", "value": 0}]},
        "pids_stats": {"current": 3},
    }  # fmt: skip
    r = row(s, "web", True)
    assert (r["CPUPerc"], r["MemUsage"], r["MemPerc"]) == ("40.00%", "2MiB / 64MiB", "3.12%")
    assert (r["NetIO"], r["BlockIO"], r["PIDs"]) == ("1.5kB / 0B", "4.1kB / 0B", "3")


def test_page_cache_left_out_of_the_usage_on_cgroup_v1_and_v2() -> None:
    def used(stats: dict[str, int]) -> str:
        s = {"id": CID, "memory_stats": {"usage": 8 << 20, "limit": 16 << 20, "stats": stats}}
        return row(s, "web", True)["MemUsage"]

    assert used({"total_inactive_file": 2 << 20, "inactive_file": 1 << 20}) == "6MiB / 16MiB"
    assert used({"inactive_file": 3 << 20}) == "5MiB / 16MiB"  # cgroup v2 (memory.stat)
    assert used({"total_inactive_file": 9 << 20, "inactive_file": 1 << 20}) == "7MiB / 16MiB"
    assert used({"inactive_file": 9 << 20}) == "8MiB / 16MiB"
    assert used({}) == "8MiB / 16MiB"
