"""The daemon's record of one container: Docker's inspect object plus cove's private notes.

The record is a cache of what the runtime knows; it is written atomically after every change
so a crashed daemon finds either the old or the new version.
"""

from __future__ import annotations

import logging
import os

from cove.engine.state import Status, can_change
from cove.errors import Conflict
from cove.util.fs import atomic_write_json, read_json
from cove.util.jsontypes import Json
from cove.util.timefmt import now_rfc3339

RECORD = "config.v2.json"
log = logging.getLogger("cove.engine")


class Container:
    def __init__(self, data: Json, directory: str) -> None:
        self.data = data
        self.dir = directory

    # --- identity -------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return str(self.data["Id"])

    @property
    def name(self) -> str:
        """Without the leading slash."""
        return str(self.data["Name"]).lstrip("/")

    @property
    def config(self) -> Json:
        return self.data["Config"]  # type: ignore[no-any-return]

    @property
    def host_config(self) -> Json:
        return self.data["HostConfig"]  # type: ignore[no-any-return]

    @property
    def state(self) -> Json:
        return self.data["State"]  # type: ignore[no-any-return]

    @property
    def status(self) -> Status:
        return Status(self.state["Status"])

    @property
    def private(self) -> Json:
        """Facts only cove needs: the monitor's pid, the process' start time."""
        return self.data.setdefault("_cove", {})  # type: ignore[no-any-return]

    # --- the runtime facts cove keeps beside Docker's record (under "_cove") --------------
    @property
    def monitor_pid(self) -> int:
        """The monitor (conmon) of the current run; 0 when none runs."""
        return int(self.private.get("MonitorPid") or 0)

    @property
    def monitor_start(self) -> int:
        """The monitor's start time (``/proc/<pid>/stat``): tells a recycled pid from it."""
        return int(self.private.get("MonitorStart") or 0)

    @property
    def pid_start(self) -> int:
        """The container process's start time, for the same check."""
        return int(self.private.get("PidStart") or 0)

    def set_monitor(self, monitor_pid: int, monitor_start: int, pid_start: int) -> None:
        self.private.update(MonitorPid=monitor_pid, MonitorStart=monitor_start, PidStart=pid_start)

    def clear_monitor(self) -> None:
        self.private.pop("MonitorPid", None)

    @property
    def in_runtime(self) -> bool:
        """The runtime (crun) still holds the container: it must be deleted there first."""
        return bool(self.private.get("InRuntime"))

    @in_runtime.setter
    def in_runtime(self, value: bool) -> None:
        if value:
            self.private["InRuntime"] = True
        else:
            self.private.pop("InRuntime", None)

    @property
    def manually_stopped(self) -> bool:
        """A user stopped or killed it: no restart policy applies until a user starts it."""
        return bool(self.private.get("ManuallyStopped"))

    @manually_stopped.setter
    def manually_stopped(self, value: bool) -> None:
        self.private["ManuallyStopped"] = value

    @property
    def restart_delay(self) -> float:
        """The restart policy's current back-off, seconds (0: none yet)."""
        return float(self.private.get("RestartDelay") or 0)

    @restart_delay.setter
    def restart_delay(self, value: float) -> None:
        self.private["RestartDelay"] = value

    @property
    def removing(self) -> bool | None:
        """None, or a removal under way (written first, finished by the next daemon start
        if this one dies): whether it removes the anonymous volumes too."""
        mark = self.private.get("Removing")
        return None if mark is None else bool(mark.get("Volumes"))

    def mark_removing(self, volumes: bool) -> None:
        self.private["Removing"] = {"Volumes": volumes}

    def unmark_removing(self) -> bool:
        """Drop the mark; whether there was one."""
        return self.private.pop("Removing", None) is not None

    @property
    def mount_points(self) -> list[Json] | None:
        """The mount points made at create (engine/fs/mounts.py's dicts), or None for a
        record written before cove kept them."""
        points = self.private.get("MountPoints")
        return None if points is None else list(points)

    @mount_points.setter
    def mount_points(self, points: list[Json]) -> None:
        self.private["MountPoints"] = points

    # --- network facts per network id: interface names while running, MACs asked for ------
    def net_ifname(self, net_id: str) -> str:
        """The container's interface on network ``net_id`` while it runs ("" if none)."""
        return str((self.private.get("NetIfs") or {}).get(net_id) or "")

    def net_ifnames(self) -> set[str]:
        return {str(v) for v in (self.private.get("NetIfs") or {}).values()}

    def set_net_ifname(self, net_id: str, ifname: str) -> None:
        self.private.setdefault("NetIfs", {})[net_id] = ifname

    def clear_net_ifnames(self) -> None:
        self.private.pop("NetIfs", None)

    def desired_mac(self, net_id: str) -> str:
        """A MAC asked for on the endpoint (create or connect): it outlives stops."""
        return str((self.private.get("DesiredMacs") or {}).get(net_id) or "")

    def set_desired_mac(self, net_id: str, mac: str) -> None:
        self.private.setdefault("DesiredMacs", {})[net_id] = mac

    def forget_network(self, net_id: str) -> None:
        """A disconnect: the interface name and the MAC asked for on ``net_id`` go."""
        (self.private.get("NetIfs") or {}).pop(net_id, None)
        (self.private.get("DesiredMacs") or {}).pop(net_id, None)

    @property
    def health_for(self) -> str:
        """The run (its StartedAt) the recorded health results belong to."""
        return str(self.private.get("HealthFor") or "")

    @health_for.setter
    def health_for(self, started: str) -> None:
        self.private["HealthFor"] = started

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    # --- state changes: each checks the transition table (engine/state.py) ----------------
    def _change(self, new: Status, only_from: Status | None = None, **fields: object) -> None:
        old = self.status
        if not can_change(old, new) or (only_from is not None and old != only_from):
            raise Conflict(f"container {self.id}: cannot go from {old.value} to {new.value}")
        self.state.update(Status=new.value, **fields)

    def set_running(self, pid: int) -> None:
        """A start went through: a fresh run, its exit code and error cleared."""
        self._change(
            Status.RUNNING,
            Running=True,
            Paused=False,
            Restarting=False,
            OOMKilled=False,
            Dead=False,
            Pid=pid,
            ExitCode=0,
            Error="",
            StartedAt=now_rfc3339(),
            FinishedAt="0001-01-01T00:00:00Z",
        )

    def set_exited(self, code: int) -> None:
        """The process ended (from running or paused) with ``code``."""
        self._change(
            Status.EXITED,
            Running=False,
            Paused=False,
            Restarting=False,
            Pid=0,
            ExitCode=code,
            FinishedAt=now_rfc3339(),
        )

    def set_start_failed(self, code: int, error: str) -> None:
        """A start that did not run anything: the state stays, the reason is kept."""
        self.state.update(ExitCode=code, Error=error)

    def set_paused(self) -> None:
        self._change(Status.PAUSED, Paused=True)

    def set_unpaused(self) -> None:
        self._change(Status.RUNNING, Status.PAUSED, Paused=False)

    def set_restarting(self) -> None:
        """Exited, waiting for its restart policy's delay."""
        self._change(Status.RESTARTING, Restarting=True)

    def set_restart_over(self) -> None:
        """The restart wait ended (the start follows) or was cancelled: exited again."""
        self._change(Status.EXITED, Restarting=False)

    # --- persistence ----------------------------------------------------------------------
    def save(self) -> None:
        # fsync is skipped: the runtime is the truth and reconcile repairs a stale record,
        # while an fsync per state change would cost milliseconds on every run.
        atomic_write_json(os.path.join(self.dir, RECORD), self.data, mode=0o600, sync=False)

    def save_state(self) -> None:
        """Save after a change that has already happened in the runtime (an exit, a start,
        a removal begun): a record that cannot be written (a full disk) is logged, not
        raised, so the operation completes and its waiters hear of it; the next save, or the
        reconcile at daemon start, brings the file up to date."""
        try:
            self.save()
        except OSError as e:
            log.warning("container %s: record not saved: %s", self.id[:12], e)

    @classmethod
    def load(cls, directory: str) -> Container:
        return cls(read_json(os.path.join(directory, RECORD)), directory)

    def public(self) -> Json:
        return {k: v for k, v in self.data.items() if not k.startswith("_")}
