"""Stats from a cgroup2 directory, as dockerd reports them on such a host (files written
by the test in the kernel's formats)."""

from __future__ import annotations

import os
from pathlib import Path

from cove.engine.containers import stats_v2


def _dir(tmp_path: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return str(tmp_path)


def test_cpu_times_are_nanoseconds(tmp_path: Path) -> None:
    d = _dir(tmp_path, {"cpu.stat": (
        "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n"
        "nr_periods 7\nnr_throttled 2\nthrottled_usec 30\n"
    )})  # fmt: skip
    cpu = stats_v2.cpu(d, 2)
    assert cpu["cpu_usage"] == {
        "total_usage": 2_500_000, "usage_in_kernelmode": 500_000, "usage_in_usermode": 2_000_000,
    }  # fmt: skip
    assert cpu["throttling_data"] == {
        "periods": 7, "throttled_periods": 2, "throttled_time": 30_000,
    }  # fmt: skip
    assert cpu["online_cpus"] == 2 and cpu["system_cpu_usage"] > 0


def test_memory_limit_and_unlimited(tmp_path: Path) -> None:
    d = _dir(tmp_path, {
        "memory.current": "4096\n", "memory.max": "67108864\n", "memory.peak": "8192\n",
        "memory.stat": "anon 1024\ninactive_file 512\n",
    })  # fmt: skip
    mem = stats_v2.memory(d)
    assert mem == {"usage": 4096, "limit": 67108864, "max_usage": 8192,
                   "stats": {"anon": 1024, "inactive_file": 512}}  # fmt: skip
    os.remove(os.path.join(d, "memory.peak"))
    (tmp_path / "memory.max").write_text("max\n")
    host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    mem = stats_v2.memory(d)
    assert mem["limit"] == host and "max_usage" not in mem


def test_io_stat_becomes_read_and_write_rows(tmp_path: Path) -> None:
    d = _dir(tmp_path, {"io.stat": "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"})
    rows = stats_v2.blkio(d)["io_service_bytes_recursive"]
    assert rows == [
        {"major": 8, "minor": 0, "op": "read", "value": 4096},
        {"major": 8, "minor": 0, "op": "write", "value": 8192},
    ]
    assert stats_v2.blkio(str(tmp_path / "missing"))["io_service_bytes_recursive"] is None
