"""``docker top``: the host's ``ps`` with the user's options, narrowed to the processes in
the container's cgroup, as dockerd does (Titles from ps' header, one row per process)."""

from __future__ import annotations

import os

from cove.engine.containers.cgroupread import cgroup_dir
from cove.engine.containers.steps import ContainerSteps
from cove.engine.state import Status
from cove.errors import Conflict, InvalidArgument, SystemError_
from cove.runtime import proc
from cove.util.jsontypes import Json


def container_pids(cid: str) -> set[int]:
    for controller in ("pids", "memory", "cpuacct", "freezer"):
        try:
            with open(os.path.join(cgroup_dir(controller, cid), "cgroup.procs")) as f:
                return {int(x) for x in f.read().split()}
        except OSError:
            continue
    return set()


def parse_ps(output: str, pids: set[int]) -> Json:
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        raise SystemError_("Couldn't find PID field in ps output")
    titles = lines[0].split()
    if "PID" not in titles:
        raise SystemError_("Couldn't find PID field in ps output")
    at = titles.index("PID")
    procs: list[list[str]] = []
    for line in lines[1:]:
        fields = line.split()
        try:
            pid = int(fields[at])
        except (IndexError, ValueError):
            continue
        if pid not in pids:
            continue
        # the last column (the command) may hold spaces: keep it whole
        head = line.split(None, len(titles) - 1)
        procs.append(head)
    return {"Titles": titles, "Processes": procs}


async def container_top(eng: ContainerSteps, ref: str, ps_args: str) -> Json:
    c = eng.find(ref)
    await eng.sync(c)
    if c.status not in (Status.RUNNING, Status.PAUSED):
        raise Conflict(f"Container {c.id} is not running")
    args = ps_args.split() if ps_args else ["-ef"]
    try:
        rc, out, err = await proc.run(["ps", *args], 30.0)
    except OSError as e:
        raise SystemError_(f"Error running ps: {e}") from None
    if rc != 0:
        # ps refuses only what it was asked: the request's ps_args are at fault
        raise InvalidArgument(f"ps: {(err or out).strip()}")
    return parse_ps(out, container_pids(c.id))
