"""``cove system df``: GET /system/df as docker's summary table (``-v``: per object)."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options

COMMAND = Command(
    "df",
    "[OPTIONS]",
    "Show cove disk usage",
    [
        Flag("format", None, STRING, "Format output using a custom template"),
        Flag("verbose", "v", BOOL, "Show detailed information on space usage"),
    ],
    max_args=0,
)
HEADERS = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
           "Reclaimable": "RECLAIMABLE"}  # fmt: skip


def _pct(part: float, whole: float) -> str:
    return f" ({int(part * 100 / whole)}%)" if whole > 0 else ""


def summary(df: dict[str, Any]) -> list[dict[str, str]]:
    from cove.cli.units import human_size

    images = df.get("Images") or []
    size = int(df.get("LayersSize") or 0)
    active = [i for i in images if int(i.get("Containers") or 0) > 0]
    used = sum(int(i.get("Size") or 0) - max(int(i.get("SharedSize") or 0), 0) for i in active)
    shared_active = max((int(i.get("SharedSize") or 0) for i in active), default=0)
    reclaim = max(size - used - shared_active, 0)
    containers = df.get("Containers") or []
    crun = [c for c in containers if c.get("State") in ("running", "paused", "restarting")]
    csize = sum(int(c.get("SizeRw") or 0) for c in containers)
    cre = sum(int(c.get("SizeRw") or 0) for c in containers if c not in crun)
    vols = df.get("Volumes") or []
    vsize = sum(max(int((v.get("UsageData") or {}).get("Size") or 0), 0) for v in vols)
    vactive = [v for v in vols if int((v.get("UsageData") or {}).get("RefCount") or 0) > 0]
    vre = sum(max(int((v.get("UsageData") or {}).get("Size") or 0), 0) for v in vols
              if v not in vactive)  # fmt: skip
    return [
        {"Type": "Images", "TotalCount": str(len(images)), "Active": str(len(active)),
         "Size": human_size(size), "Reclaimable": human_size(reclaim) + _pct(reclaim, size)},
        {"Type": "Containers", "TotalCount": str(len(containers)), "Active": str(len(crun)),
         "Size": human_size(csize), "Reclaimable": human_size(cre) + _pct(cre, csize)},
        {"Type": "Local Volumes", "TotalCount": str(len(vols)), "Active": str(len(vactive)),
         "Size": human_size(vsize), "Reclaimable": human_size(vre) + _pct(vre, vsize)},
        _build_cache(df.get("BuildCache") or []),
    ]  # fmt: skip


def _build_cache(records: list[dict[str, Any]]) -> dict[str, str]:
    """The build cache row: RUN --mount=type=cache directories (a busy one is active)."""
    from cove.cli.units import human_size

    size = sum(int(r.get("Size") or 0) for r in records)
    busy = [r for r in records if r.get("InUse")]
    free = size - sum(int(r.get("Size") or 0) for r in busy)
    return {
        "Type": "Build Cache",
        "TotalCount": str(len(records)),
        "Active": str(len(busy)),
        "Size": human_size(size),
        "Reclaimable": human_size(free) + _pct(free, size),
    }


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.formatter import FormatError, render

    df = ctx.client.get("/system/df") or {}
    if opts.on("verbose") and not opts.text("format"):
        return _verbose(df)
    default = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
    try:
        sys.stdout.write(render(opts.text("format"), default, summary(df), HEADERS))
    except FormatError as e:
        raise StatusError(1, str(e)) from None
    return 0


def _verbose(df: dict[str, Any]) -> int:
    import time

    from cove.cli.table import render as table
    from cove.cli.units import ago, human_size

    now = time.time()
    rows = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE",
             "CONTAINERS"]]  # fmt: skip
    for i in df.get("Images") or []:
        shared = max(int(i.get("SharedSize") or 0), 0)
        tags = i.get("RepoTags") or ["<none>:<none>"]
        for t in tags:
            repo, _, tag = t.rpartition(":")
            rows.append([repo, tag, i["Id"][7:19], ago(int(i.get("Created") or 0), now),
                         human_size(int(i.get("Size") or 0)), human_size(shared),
                         human_size(int(i.get("Size") or 0) - shared),
                         str(i.get("Containers") or 0)])  # fmt: skip
    sys.stdout.write("Images space usage:\n\n" + table(rows) + "\n")
    crows = [["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS",
              "NAMES"]]  # fmt: skip
    for c in df.get("Containers") or []:
        cmd = c.get("Command", "")
        crows.append([c["Id"][:12], c.get("Image", ""), f'"{cmd[:19]}…"' if len(cmd) > 20
                      else f'"{cmd}"', "0", human_size(int(c.get("SizeRw") or 0)),
                      ago(int(c.get("Created") or 0), now), c.get("Status", ""),
                      (c.get("Names") or ["/"])[0].lstrip("/")])  # fmt: skip
    sys.stdout.write("Containers space usage:\n\n" + table(crows) + "\n")
    vrows = [["VOLUME NAME", "LINKS", "SIZE"]]
    for v in df.get("Volumes") or []:
        u = v.get("UsageData") or {}
        vrows.append([v.get("Name", ""), str(u.get("RefCount", 0)),
                      human_size(max(int(u.get("Size") or 0), 0))])  # fmt: skip
    sys.stdout.write("Local Volumes space usage:\n\n" + table(vrows) + "\n")
    sys.stdout.write("Build cache usage: 0B\n\nCACHE ID    CACHE TYPE    SIZE    CREATED    "
                     "LAST USED    USAGE     SHARED\n")  # fmt: skip
    return 0
