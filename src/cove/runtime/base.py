"""The OCI runtime driver: crun (or runc) under a per-container monitor (conmon).

The daemon's record of a container is a cache; the runtime is the truth.  The monitor holds
the container's stdio (pipes, or a pty with a TTY), writes its log, reaps it and writes its
exit status to ``exit_dir/<id>``; it outlives coved, so containers survive a daemon restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from cove.util.streams import AttachSession


@dataclass(frozen=True)
class IOConfig:
    tty: bool = False
    stdin: bool = False  # keep a stdin pipe open (docker -i / OpenStdin)
    stdin_once: bool = False  # the first attached client's half-close closes the process' stdin
    # where the monitor writes its k8s-file records (a file, or the keeper's FIFO); None: no log
    log_path: str | None = None
    log_size_max: int = 0  # bytes: the monitor starts a fresh file past this (0: no cap)
    log_journald: bool = False  # also send each line to the systemd journal
    log_tag: str = ""  # the journal's CONTAINER_TAG


@dataclass(frozen=True)
class ProcessInfo:
    pid: int  # the container's (or exec's) process on the host
    monitor_pid: int  # the conmon watching it
    pid_start: int  # /proc/<pid>/stat starttime, to tell a recycled pid from ours


class Runtime(Protocol):
    name: str  # the default OCI runtime's name
    paths: dict[str, str]  # every OCI runtime a container can name, to its executable

    async def create(self, cid: str, bundle: str, io: IOConfig, runtime: str = "") -> ProcessInfo:
        """Start the monitor, which runs ``<runtime> create`` (``runtime``: a name of
        ``paths``, "" for the default; an unknown one is InvalidArgument); returns once the
        container exists in the "created" state with its attach socket listening.  On
        failure raises SystemError_ with the runtime's own message and leaves nothing
        behind.  Every later call on ``cid`` uses the runtime it was created with."""
        ...

    async def start(self, cid: str) -> None: ...

    async def kill(self, cid: str, signal: int, all_processes: bool = False) -> None:
        """No error when the container already stopped."""
        ...

    async def pause(self, cid: str) -> None:
        """Freeze every process of the container (cgroup freezer)."""
        ...

    async def resume(self, cid: str) -> None: ...

    async def update(self, cid: str, resources: dict[str, Any]) -> None:
        """Apply OCI ``linux.resources`` to the running container's cgroups."""
        ...

    async def delete(self, cid: str, force: bool = False) -> None:
        """Forget the container in the runtime; idempotent."""
        ...

    async def state(self, cid: str) -> str | None:
        """The runtime's status: "created", "running", "paused" or "stopped"; None when
        it has no record of ``cid``."""
        ...

    def exit_code(self, cid: str) -> int | None:
        """The status the monitor recorded, None while it runs (or if it never ran)."""
        ...

    async def wait_exit(self, monitor_pid: int) -> None:
        """Return when the monitor process has exited (pidfd, no polling)."""
        ...

    async def attach(self, cid: str, tty: bool) -> AttachSession:
        """Connect to the monitor's attach socket of container ``cid``."""
        ...

    async def resize(self, cid: str, height: int, width: int) -> None: ...

    async def exec(
        self, cid: str, exec_id: str, process: dict[str, Any], io: IOConfig, attach: bool
    ) -> tuple[ProcessInfo, AttachSession | None]:
        """Run ``process`` (an OCI process object) in the running container under its own
        monitor.  With ``attach`` the session is connected before the process starts, so no
        output is lost.  The exit status lands in ``exec_exit_code(exec_id)``."""
        ...

    def exec_exit_code(self, exec_id: str) -> int | None: ...

    async def exec_resize(self, exec_id: str, height: int, width: int) -> None: ...

    def cleanup_exec(self, exec_id: str) -> None: ...
