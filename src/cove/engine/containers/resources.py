"""HostConfig resources, ulimits, capabilities and restart policy: checked at create (and
update) with dockerd's words, and turned into the OCI ``linux.resources`` object.

``check_host_config`` normalizes the HostConfig in place the way dockerd's
``adaptContainerSettings`` does (``MemorySwap`` defaults to twice ``Memory``, the shares
floor) and returns the warnings for the create response.  It raises before anything is
created, so a bad value leaves nothing behind.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from cove.errors import InvalidArgument
from cove.logdriver import options as log_options
from cove.oci import caps as capmod
from cove.util.jsontypes import Json

MIN_MEMORY = 6 * 1024 * 1024
POLICIES = ("no", "always", "on-failure", "unless-stopped")
_CPUSET = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")
MEMSW = "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"


def check_restart_policy(hc: Json) -> None:
    rp = hc.get("RestartPolicy") or {}
    name = str(rp.get("Name") or "")
    count = int(rp.get("MaximumRetryCount") or 0)
    if name in ("", "no", "always", "unless-stopped"):
        if count != 0:
            raise InvalidArgument(
                "invalid restart policy: maximum retry count can only be used with 'on-failure'"
            )
    elif name == "on-failure":
        if count < 0:
            raise InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
    else:
        raise InvalidArgument(
            f"invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', "
            "'on-failure', or 'unless-stopped'"
        )
    if hc.get("AutoRemove") and name not in ("", "no"):
        raise InvalidArgument("can't create 'AutoRemove' container with restart policy")


def _cpus(spec: str) -> set[int]:
    out: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def _check_cpuset(value: str, what: str, available: set[int] | None) -> None:
    if not value:
        return
    if not _CPUSET.match(value):
        raise InvalidArgument(f"Invalid value {value} for cpuset {what}")
    if available is not None and not _cpus(value) <= available:
        shown = ",".join(str(c) for c in sorted(available))
        raise InvalidArgument(
            f"Requested CPUs are not available - requested {value}, available: {shown}"
        )


def _swap_v2() -> bool:
    """On a cgroup2 host swap is limited with the memory controller (``memory.swap.max``),
    so dockerd takes the controller's presence as enough; so does cove."""
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            return "memory" in f.read().split()
    except OSError:
        return False


def check_resources(hc: Json, ncpu: int | None = None, swap_ok: bool | None = None) -> list[str]:
    """Validate and normalize the resource fields of ``hc``; returns warnings."""
    warnings: list[str] = []
    ncpu = ncpu or os.cpu_count() or 1
    if swap_ok is None:
        swap_ok = os.path.exists(MEMSW) or _swap_v2()
    mem = int(hc.get("Memory") or 0)
    swap = int(hc.get("MemorySwap") or 0)
    reservation = int(hc.get("MemoryReservation") or 0)
    if mem < 0:
        raise InvalidArgument("invalid memory limit: must be a positive value")
    if 0 < mem < MIN_MEMORY:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    if swap > 0 and mem == 0:
        raise InvalidArgument(
            "You should always set the Memory limit when using Memoryswap limit, see usage"
        )
    if mem > 0 and swap > 0 and swap < mem:
        raise InvalidArgument(
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        )
    if 0 < reservation < MIN_MEMORY:
        raise InvalidArgument("Minimum memory reservation allowed is 6MB")
    if mem > 0 and reservation > mem:
        raise InvalidArgument(
            "Minimum memory limit can not be less than memory reservation limit, see usage"
        )
    if mem > 0 and swap == 0 and swap_ok:
        hc["MemorySwap"] = mem * 2  # dockerd's default: as much swap as memory
    if mem > 0 and not swap_ok:
        warnings.append(
            "Your kernel does not support swap limit capabilities or the cgroup is not "
            "mounted. Memory limited without swap."
        )
        hc["MemorySwap"] = -1
    swappiness = hc.get("MemorySwappiness")
    if swappiness is not None and int(swappiness) != -1 and not 0 <= int(swappiness) <= 100:
        raise InvalidArgument(
            f"Invalid value: {swappiness}, valid memory swappiness range is 0-100"
        )
    nano = int(hc.get("NanoCpus") or 0)
    if nano and int(hc.get("CpuPeriod") or 0):
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano and int(hc.get("CpuQuota") or 0):
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    if nano < 0 or nano > ncpu * 10**9:
        raise InvalidArgument(
            f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
        )
    shares = int(hc.get("CpuShares") or 0)
    if shares < 0 or 0 < shares < 2:
        hc["CpuShares"] = 2  # the kernel's floor, as dockerd clamps
        warnings.append(f"Changing requested CPUShares of {shares} to minimum allowed of 2")
    elif shares > 262144:
        hc["CpuShares"] = 262144
        warnings.append(f"Changing requested CPUShares of {shares} to maximum allowed of 262144")
    period = int(hc.get("CpuPeriod") or 0)
    if period and not 1000 <= period <= 1000000:
        raise InvalidArgument(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
        )
    quota = int(hc.get("CpuQuota") or 0)
    if 0 < quota < 1000:
        raise InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    _check_cpuset(str(hc.get("CpusetCpus") or ""), "cpus", set(range(ncpu)))
    _check_cpuset(str(hc.get("CpusetMems") or ""), "mems", None)
    oom = int(hc.get("OomScoreAdj") or 0)
    if not -1000 <= oom <= 1000:
        raise InvalidArgument(f"Invalid value {oom}, range for oom score adj is [-1000, 1000]")
    if int(hc.get("ShmSize") or 0) < 0:
        raise InvalidArgument("SHM size can not be less than 0")
    if hc.get("OomKillDisable") and not mem:
        warnings.append(
            "OOM killer is disabled for the container, but no memory limit is set, this can "
            "result in the system running out of resources."
        )
    return warnings


def check_ulimits(hc: Json, ceilings: Mapping[str, int] | None) -> list[str]:
    """Soft <= hard, known names; a hard limit above what the daemon may grant is clamped
    (raising it needs CAP_SYS_RESOURCE, which root lacks here) with a warning."""
    from cove.oci.spec import _ULIMIT_NAMES

    warnings: list[str] = []
    for u in hc.get("Ulimits") or []:
        name = str(u.get("Name", ""))
        soft, hard = int(u.get("Soft", 0)), int(u.get("Hard", 0))
        if name not in _ULIMIT_NAMES:
            raise InvalidArgument(f"invalid ulimit type: {name}")
        if soft > hard and hard >= 0:
            raise InvalidArgument(
                f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            )
        ceiling = (ceilings or {}).get("RLIMIT_" + name.upper())
        if ceiling is not None and ceiling >= 0 and (hard < 0 or hard > ceiling):
            warnings.append(
                f"ulimit {name}={soft}:{hard} is above what the host allows; "
                f"clamped to {min(soft, ceiling) if soft >= 0 else ceiling}:{ceiling}"
            )
    return warnings


def check_host_config(
    hc: Json, ceilings: Mapping[str, int] | None = None, ncpu: int | None = None
) -> list[str]:
    check_restart_policy(hc)
    isolation = str(hc.get("Isolation") or "")
    if isolation not in ("", "default"):  # dockerd's words (it answers 500; a 400 here)
        raise InvalidArgument(f"Invalid isolation: \"{isolation}\" - linux only supports 'default'")
    log_options.plan(hc.get("LogConfig") or {})  # Docker's refusals, in its words
    for key in ("CapAdd", "CapDrop"):
        try:
            capmod.normalize(hc.get(key) or [])
        except InvalidArgument as e:
            raise InvalidArgument(f"invalid {key}: {e.message}") from None  # dockerd's words
    warnings = check_resources(hc, ncpu)
    warnings += check_ulimits(hc, ceilings)
    return warnings


def oci_resources(hc: Json) -> Json:
    """``linux.resources`` (without devices) from the HostConfig."""
    out: Json = {}
    mem: Json = {}
    if int(hc.get("Memory") or 0) > 0:
        mem["limit"] = int(hc["Memory"])
    swap = int(hc.get("MemorySwap") or 0)
    if mem and swap:
        mem["swap"] = swap
    if int(hc.get("MemoryReservation") or 0) > 0:
        mem["reservation"] = int(hc["MemoryReservation"])
    sw = hc.get("MemorySwappiness")
    if sw is not None and 0 <= int(sw) <= 100:
        mem["swappiness"] = int(sw)
    if hc.get("OomKillDisable"):
        mem["disableOOMKiller"] = True
    if mem:
        out["memory"] = mem
    cpu: Json = {}
    if int(hc.get("CpuShares") or 0) > 0:
        cpu["shares"] = int(hc["CpuShares"])
    nano = int(hc.get("NanoCpus") or 0)
    if nano > 0:
        cpu["period"] = 100000
        cpu["quota"] = nano * 100000 // 10**9
    else:
        if int(hc.get("CpuPeriod") or 0) > 0:
            cpu["period"] = int(hc["CpuPeriod"])
        if int(hc.get("CpuQuota") or 0) > 0:
            cpu["quota"] = int(hc["CpuQuota"])
    if hc.get("CpusetCpus"):
        cpu["cpus"] = str(hc["CpusetCpus"])
    if hc.get("CpusetMems"):
        cpu["mems"] = str(hc["CpusetMems"])
    if cpu:
        out["cpu"] = cpu
    pids = hc.get("PidsLimit")
    if pids is not None and int(pids) > 0:
        out["pids"] = {"limit": int(pids)}
    if int(hc.get("BlkioWeight") or 0) > 0:
        out["blockIO"] = {"weight": int(hc["BlkioWeight"])}
    return out


def ulimit_tuples(hc: Json) -> list[tuple[str, int, int]]:
    return [
        (str(u["Name"]), int(u.get("Soft", 0)), int(u.get("Hard", 0)))
        for u in hc.get("Ulimits") or []
    ]


# Static builds only: the init runs inside the container's root, which may have no libc.
INIT_CANDIDATES = ("/usr/bin/tini-static", "/usr/bin/docker-init", "/usr/bin/catatonit")
INIT_PATH = "/sbin/docker-init"


def init_binary() -> str | None:
    for p in INIT_CANDIDATES:
        if os.path.isfile(os.path.realpath(p)):
            return p
    return None


def with_init(hc: Json, args: list[str], mounts: list[Json]) -> list[str]:
    """``--init``: the static init bind-mounted read-only at /sbin/docker-init runs the
    command as its child (``docker-init -- cmd``), forwarding signals and reaping."""
    if not hc.get("Init"):
        return args
    path = init_binary()
    if path is None:
        raise InvalidArgument(
            "--init requires a static init binary (install Debian's tini or catatonit)"
        )
    mounts.append(
        {
            "destination": INIT_PATH,
            "type": "bind",
            "source": os.path.realpath(path),
            "options": ["rbind", "rprivate", "ro"],
        }
    )
    return [INIT_PATH, "--", *args]
