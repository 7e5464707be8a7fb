"""``cove stats``: live resource usage (GET /containers/{id}/stats), docker's table."""

from __future__ import annotations

import sys
import threading
import time

from cove.cli.command import Command, Context
from cove.cli.flags import BOOL, STRING, Flag
from cove.client import jsonlite as json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options

COMMAND = Command(
    "stats",
    "[OPTIONS] [CONTAINER...]",
    "Display a live stream of container(s) resource usage statistics",
    [
        Flag("all", "a", BOOL, "Show all containers (default shows just running)"),
        Flag("format", None, STRING, "Format output using a custom template"),
        Flag("no-stream", None, BOOL, "Disable streaming stats and only pull the first result"),
        Flag("no-trunc", None, BOOL, "Do not truncate output"),
    ],
)

DEFAULT = (
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t"
    "{{.BlockIO}}\t{{.PIDs}}"
)
HEADERS = {
    "ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
    "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
    "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
}  # fmt: skip
_BIN = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def bytes_size(n: float) -> str:
    """go-units ``BytesSize``: binary units, 4 significant digits."""
    i = 0
    while n >= 1024 and i < len(_BIN) - 1:
        n /= 1024
        i += 1
    return f"{n:.4g}{_BIN[i]}"


def row(s: dict[str, Any], name: str, trunc: bool) -> dict[str, str]:
    from cove.cli.units import human_size

    cpu, pre = s.get("cpu_stats") or {}, s.get("precpu_stats") or {}
    cpu_delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (
        pre.get("cpu_usage") or {}
    ).get("total_usage", 0)
    sys_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    ncpu = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or [1])
    cpu_pct = cpu_delta / sys_delta * ncpu * 100 if sys_delta > 0 and cpu_delta > 0 else 0.0
    mem = s.get("memory_stats") or {}
    usage, kinds = mem.get("usage", 0), mem.get("stats") or {}
    # the page cache that can go is not counted, as the docker CLI does: cgroup v1's
    # total_inactive_file when it has one below the usage, else v2's inactive_file
    inactive = kinds.get("total_inactive_file", usage)
    if inactive >= usage:
        inactive = kinds.get("inactive_file", 0)
    used = usage - inactive if inactive < usage else usage
    limit = mem.get("limit", 0)
    nets = (s.get("networks") or {}).values()
    rx, tx = sum(n.get("rx_bytes", 0) for n in nets), sum(n.get("tx_bytes", 0) for n in nets)
    rd = wr = 0
    for e in (s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        if e.get("op", "").lower() == "read":
            rd += e.get("value", 0)
        elif e.get("op", "").lower() == "write":
            wr += e.get("value", 0)
    cid = str(s.get("id", ""))
    # every sample is rendered with its figures, as the docker CLI does: dockerd's empty one
    # (a stopped container, a rootless daemon without cgroups: name and id, all zeros) shows
    # 0.00% and 0B / 0B; the name is the sample's, whatever the container was asked by
    return {
        "ID": cid if not trunc else cid[:12], "Container": name,
        "Name": str(s.get("name") or name).lstrip("/") or "--",
        "CPUPerc": f"{cpu_pct:.2f}%",
        "MemUsage": f"{bytes_size(used)} / {bytes_size(limit)}",
        "MemPerc": f"{used / limit * 100 if limit else 0.0:.2f}%",
        "NetIO": f"{human_size(rx)} / {human_size(tx)}",
        "BlockIO": f"{human_size(rd)} / {human_size(wr)}",
        "PIDs": str((s.get("pids_stats") or {}).get("current", 0)),
    }  # fmt: skip


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.formatter import render

    client = ctx.client
    names = list(args)
    if not names:
        query = {"all": opts.on("all") or None}
        found = client.get("/containers/json", query) or []
        names = [(c.get("Names") or ["/" + c["Id"]])[0].lstrip("/") for c in found]
    trunc = not opts.on("no-trunc")
    fmt = opts.text("format")
    if opts.on("no-stream"):
        rows = [row(client.get(f"/containers/{n}/stats", {"stream": "0"}), n, trunc)
                for n in names]  # fmt: skip
        sys.stdout.write(render(fmt, DEFAULT, rows, HEADERS))
        return 0
    latest: dict[str, dict[str, str]] = {}
    lock = threading.Lock()

    def follow(name: str) -> None:
        try:
            resp = client.open("GET", f"/containers/{name}/stats", {"stream": "1"})
        except Exception:
            return
        buf = b""
        try:
            for data in resp.iter_body():
                buf += data
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    if raw.strip():
                        with lock:
                            latest[name] = row(json.loads(raw), name, trunc)
        finally:
            resp.close()

    for n in names:
        threading.Thread(target=follow, args=(n,), daemon=True).start()
    tty = sys.stdout.isatty()
    try:
        while True:
            time.sleep(1.0 if latest else 0.2)
            with lock:
                rows = [latest[n] for n in names if n in latest]
            if not rows:
                continue
            text = render(fmt, DEFAULT, rows, HEADERS)
            sys.stdout.write(("\033[2J\033[H" if tty else "") + text)
            sys.stdout.flush()
    except KeyboardInterrupt:
        return 0
