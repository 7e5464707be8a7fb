"""``cove update``: change resources and the restart policy of containers."""

from __future__ import annotations

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import INT, STRING, Flag
from cove.cli.multi import each

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options

COMMAND = Command(
    "update",
    "[OPTIONS] CONTAINER [CONTAINER...]",
    "Update configuration of one or more containers",
    [
        Flag("blkio-weight", None, INT, "Block IO (relative weight), between 10 and 1000"),
        Flag("cpu-period", None, INT, "Limit CPU CFS (Completely Fair Scheduler) period"),
        Flag("cpu-quota", None, INT, "Limit CPU CFS (Completely Fair Scheduler) quota"),
        Flag("cpu-shares", "c", INT, "CPU shares (relative weight)"),
        Flag("cpus", None, STRING, "Number of CPUs", metavar="decimal"),
        Flag("cpuset-cpus", None, STRING, "CPUs in which to allow execution (0-3, 0,1)"),
        Flag("cpuset-mems", None, STRING, "MEMs in which to allow execution (0-3, 0,1)"),
        Flag("memory", "m", STRING, "Memory limit", metavar="bytes"),
        Flag("memory-reservation", None, STRING, "Memory soft limit", metavar="bytes"),
        Flag(
            "memory-swap",
            None,
            STRING,
            "Swap limit equal to memory plus swap: -1 to enable unlimited swap",
            metavar="bytes",
        ),
        Flag("pids-limit", None, INT, "Tune container pids limit (set -1 for unlimited)"),
        Flag("restart", None, STRING, "Restart policy to apply when a container exits"),
    ],
    min_args=1,
)


def _bytes(text: str) -> int:
    from cove.cli.units import ram_in_bytes

    if not text:
        return 0
    return -1 if text == "-1" else ram_in_bytes(text)


def body(opts: Options) -> dict[str, Any]:
    from cove.cli.runparse import restart_policy

    cpus = opts.text("cpus")
    out: dict[str, Any] = {
        "BlkioWeight": opts.number("blkio-weight"), "CpuShares": opts.number("cpu-shares"),
        "CpuPeriod": opts.number("cpu-period"), "CpuQuota": opts.number("cpu-quota"),
        "CpusetCpus": opts.text("cpuset-cpus"), "CpusetMems": opts.text("cpuset-mems"),
        "Memory": _bytes(opts.text("memory")),
        "MemoryReservation": _bytes(opts.text("memory-reservation")),
        "MemorySwap": _bytes(opts.text("memory-swap")),
        "NanoCpus": round(float(cpus) * 1e9) if cpus else 0,
    }  # fmt: skip
    if opts.given("pids-limit"):
        out["PidsLimit"] = opts.number("pids-limit")
    if opts.text("restart"):
        out["RestartPolicy"] = restart_policy(opts.text("restart"))
    return out


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    try:
        payload = body(opts)
    except ValueError as e:
        raise StatusError(125, str(e)) from None
    if not any(payload.values()) and "PidsLimit" not in payload:
        raise StatusError(1, "you must provide one or more flags when using this command")
    return each(args, lambda n: ctx.client.post(f"/containers/{n}/update", None, payload))
