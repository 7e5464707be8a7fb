"""The ``Runtime`` driver: an OCI runtime (crun, or runc) under one conmon per container.

Layout (all on tmpfs under ``exec_root``, except what conmon puts in the bundle):

* ``<state_root>``: the runtime's own state (``--root``);
* ``<exec_root>/exits/<cid>``: the exit status conmon writes when the container exits;
* ``<bundle>/{attach,ctl,winsz,pidfile,conmon.pid}``: conmon's attach socket and control
  fifos, the container's and conmon's pids;
* ``<exec_root>/execs/<exec_id>/``: the same for an exec (``process.json``, ``attach``,
  ``ctl``, ``pid``, ``conmon.pid``, ``exit/<cid>``).

conmon protocol (conmon.c, api-version 1): ``_OCI_SYNCPIPE`` receives one JSON line,
``{"data": <pid>}`` once the runtime created the process or ``{"data": -1, "message":
<runtime stderr>}``; for an exec a second line carries the exit status.  With
``--exec-attach``, conmon writes ``{"data": 0}`` to ``_OCI_ATTACHPIPE`` once its attach
socket listens, and reads ``_OCI_STARTPIPE`` twice: before it daemonizes, and in the child
right before it executes ``<runtime> exec``, so a client connects before any output.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal as signal_mod
import stat
from typing import TYPE_CHECKING, Any

from cove.errors import InvalidArgument, NotFound, SystemError_
from cove.runtime import proc
from cove.runtime.attach import ConmonAttach, connect
from cove.runtime.base import IOConfig, ProcessInfo, Runtime
from cove.util import crashpoint
from cove.util.streams import AttachSession

_BUNDLE_FILES = ("attach", "ctl", "winsz", "pidfile", "conmon.pid")
_GONE = ("does not exist", "No such file or directory", "not found")
# The container's stdout and stderr are conmon's pipes, 64 KiB by default: a writer faster
# than conmon's 8 KiB reads fills that at once and then waits each time conmon is off the
# CPU, which on a small machine it shares with the writer and the log keeper.  A MiB (the
# kernel's default pipe-max-size) lets both run on: a 1 GB stdout run, six runs each,
# interleaved, on 2 cores: median 8.0 s narrow, 7.8 s wide (nine wide runs: 7.65 s).  The
# pages are taken only as the pipe fills.
OUTPUT_PIPE = 1 << 20


class ConmonRuntime:
    name = "crun"

    def __init__(
        self,
        runtime_path: str = "/usr/bin/crun",
        conmon_path: str = "/usr/bin/conmon",
        state_root: str = "/run/cove/runtime",
        exec_root: str = "/run/cove",
        timeout: float = 60.0,
        others: dict[str, str] | None = None,
        name: str = "",
    ) -> None:
        """``others``: further OCI runtimes by name (``--runtime runc``), each a path; the
        default is ``runtime_path``, called ``name`` (its file's name when not given)."""
        self.runtime_path = runtime_path
        self.conmon_path = conmon_path
        self.state_root = state_root
        self.exec_root = exec_root
        self.exits_dir = os.path.join(exec_root, "exits")
        self.execs_dir = os.path.join(exec_root, "execs")
        self.timeout = timeout
        self.name = name or os.path.basename(runtime_path)
        self.paths = {**(others or {}), self.name: runtime_path}  # name -> executable
        self._chosen: dict[str, str] = {}  # container -> runtime path, when not the default
        self.choice_dir = os.path.join(exec_root, "runtime-of")
        self._bundles: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._exec_codes: dict[str, int] = {}
        self.rootless = False  # a rootless daemon's runtime (runtime/rootless.py)
        self.rootless_cgroup = ""  # and its delegated cgroup v2 subtree (rootless_cgroup.py)

    # -- helpers ---------------------------------------------------------------------

    def _dirs(self) -> None:
        for d in (self.state_root, self.exits_dir, self.execs_dir):
            os.makedirs(d, mode=0o700, exist_ok=True)

    def path_of(self, cid: str) -> str:
        """The runtime executable ``cid`` was created with (remembered in a file, so a
        restarted daemon keeps driving each container with its own runtime)."""
        if cid not in self._chosen:
            try:
                with open(os.path.join(self.choice_dir, cid)) as f:
                    self._chosen[cid] = self.paths.get(f.read().strip(), self.runtime_path)
            except OSError:
                self._chosen[cid] = self.runtime_path
        return self._chosen[cid]

    def _choose(self, cid: str, name: str) -> None:
        if not name or name == self.name:
            self._chosen[cid] = self.runtime_path
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.choice_dir, cid))
            return
        if name not in self.paths:
            raise InvalidArgument(f"unknown or invalid runtime name: {name}")
        os.makedirs(self.choice_dir, mode=0o700, exist_ok=True)
        with open(os.path.join(self.choice_dir, cid), "w") as f:
            f.write(name)
        self._chosen[cid] = self.paths[name]

    def _global_args(self, path: str) -> tuple[str, ...]:
        """Options before the verb: crun's cgroup manager when rootless."""
        if self.rootless and os.path.basename(path) == "crun":
            from cove.runtime.rootless import DELEGATED_ARGS, RUNTIME_ARGS

            return DELEGATED_ARGS if self.rootless_cgroup else RUNTIME_ARGS
        return ()

    async def _runtime(self, cid: str, *args: str) -> tuple[int, str, str]:
        """Run ``<cid's runtime> --root=<state_root> <args>``: (status, stdout, stderr)."""
        path = self.path_of(cid)
        try:
            argv = [path, *self._global_args(path), f"--root={self.state_root}", *args]
            return await proc.run(argv, self.timeout)
        except TimeoutError:
            raise SystemError_(
                f"OCI runtime {args[0]} did not finish within {self.timeout:g}s"
            ) from None
        except OSError as e:
            raise SystemError_(f"cannot run the OCI runtime {path}: {e}") from e

    def _conmon_argv(
        self, cid: str, uuid: str, directory: str, io: IOConfig, exit_dir: str
    ) -> list[str]:
        argv = [
            self.conmon_path,
            "--api-version",
            "1",
            "-c",
            cid,
            "-u",
            uuid,
            "-n",
            cid,
            "-r",
            self.path_of(cid),
            "-b",
            directory,
            "-P",
            os.path.join(directory, "conmon.pid"),
            "--exit-dir",
            exit_dir,
            "--full-attach",
            "--log-level",
            "error",
            "--no-sync-log",
            *(f"--runtime-arg={a}" for a in self._global_args(self.path_of(cid))),
            f"--runtime-arg=--root={self.state_root}",
            *_log_args(io),
        ]
        if io.tty:
            argv.append("-t")
        if io.stdin:
            argv.append("-i")
        return argv

    async def _launch(
        self, argv: list[str], fds: dict[str, int], directory: str, start_w: int = -1
    ) -> int:
        """Start conmon, which daemonizes; return the monitor's pid.  ``fds`` (the child's
        pipe ends, by env name) are closed here.  With ``start_w``, the first start-pipe
        message is sent (conmon reads it before it daemonizes).

        Run to its end even when cancelled (then the cancellation is raised): conmon's
        parent writes ``conmon.pid`` just before it exits, and a launcher killed half way
        left a monitor no cleanup could find (it then started its container's init alone)."""
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        # the log's stamps in UTC (+00:00), as Docker keeps them: the readers and the
        # json-file conversion then take their fast way, whatever the host's zone
        env["TZ"] = "UTC"
        env.update({k: str(v) for k, v in fds.items()})
        try:
            if start_w >= 0:
                os.write(start_w, b"0")  # a pipe keeps it until conmon reads it
            launch = proc.run(argv, self.timeout, pass_fds=tuple(fds.values()), env=env,
                              cwd=directory, daemonizes=True)  # fmt: skip
            rc, _, err = await proc.to_end(launch)
        finally:
            for fd in fds.values():
                os.close(fd)
        if rc != 0:
            raise _MonitorFailed(err or f"conmon exited with status {rc}")
        return proc.read_int_file(os.path.join(directory, "conmon.pid")) or 0

    async def _cleanup(self, directory: str, monitor_pid: int, cid: str | None) -> None:
        """Leave nothing behind after a failed or cancelled create/exec: the monitor (its
        pid from ``directory``/conmon.pid when not known yet) and, for a create, the
        runtime's container."""
        monitor_pid = monitor_pid or proc.read_int_file(os.path.join(directory, "conmon.pid")) or 0
        if monitor_pid > 0 and proc.pid_alive(monitor_pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(monitor_pid, signal_mod.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait_pid(monitor_pid), self.timeout)
        if cid is not None:
            with contextlib.suppress(SystemError_):
                await self._runtime(cid, "delete", "-f", cid)

    def bundle_of(self, cid: str) -> str | None:
        return self._bundles.get(cid)

    async def _bundle(self, cid: str) -> str:
        if cid in self._bundles:
            return self._bundles[cid]
        rc, out, _ = await self._runtime(cid, "state", cid)
        if rc == 0:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self._bundles[cid] = str(json.loads(out)["bundle"])
                return self._bundles[cid]
        raise NotFound(f"No such container: {cid}")

    # -- lifecycle -------------------------------------------------------------------

    async def create(self, cid: str, bundle: str, io: IOConfig, runtime: str = "") -> ProcessInfo:
        """conmon runs ``<runtime> create`` (``runtime``: a name of ``paths``, "" for the
        default); returns once the container is "created" and the attach socket listens.
        A failure (or cancellation) kills the monitor and force-deletes the container; the
        SystemError_ carries the runtime's own words."""
        self._dirs()
        self._choose(cid, runtime)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.exits_dir, cid))
        for name in _BUNDLE_FILES:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(bundle, name))
        if self.rootless:
            _rootless_config(bundle, self.rootless_cgroup)
        argv = self._conmon_argv(cid, cid, bundle, io, self.exits_dir)
        argv += ["-p", os.path.join(bundle, "pidfile")]
        if io.stdin and not io.stdin_once:
            argv.append("--leave-stdin-open")
        sync_r, sync_w = os.pipe2(os.O_CLOEXEC)
        reader = proc.PipeReader(sync_r)

        async def created() -> tuple[int, int]:
            crashpoint.reached("start:launching")
            monitor_pid = await self._launch(argv, {"_OCI_SYNCPIPE": sync_w}, bundle)
            crashpoint.reached("start:monitor")
            msg = await asyncio.wait_for(reader.message(), self.timeout)
            pid = int(msg.get("data", -1)) if msg else -1
            if pid <= 0:
                text = str(msg.get("message", "")).strip() if msg else ""
                raise _MonitorFailed(text or "conmon exited without a status")
            return monitor_pid, pid

        try:
            # to its end even when cancelled, so the cleanup's kill and delete come after the
            # runtime's create: a delete while it still runs finds nothing to delete, and the
            # init it then makes would wait for its start signal alone
            monitor_pid, pid = await proc.to_end(created())
        except (TimeoutError, OSError, ValueError, _MonitorFailed) as e:
            await self._cleanup(bundle, 0, cid)
            text = str(e) if isinstance(e, _MonitorFailed) else f"conmon: {e}"
            raise SystemError_(f"OCI runtime create failed: {text}") from None
        except asyncio.CancelledError:
            await proc.to_end(self._cleanup(bundle, 0, cid))
            raise
        finally:
            reader.close()
        if not io.tty:
            _widen_output(pid)
        self._bundles[cid] = bundle
        return ProcessInfo(pid=pid, monitor_pid=monitor_pid, pid_start=proc.pid_start_time(pid))

    async def start(self, cid: str) -> None:
        rc, _, err = await self._runtime(cid, "start", cid)
        if rc != 0:
            if any(s in err for s in _GONE):
                raise NotFound(f"No such container: {cid}")
            raise SystemError_(f"OCI runtime start failed: {err}")

    async def kill(self, cid: str, signal: int, all_processes: bool = False) -> None:
        """Signal the container's init (every process with ``all_processes``); a stopped
        or unknown container is not an error."""
        # rootless without a delegated cgroup: no cgroup lists the container's processes,
        # so --all would reach none; the init's death takes its PID namespace's others
        every = all_processes and (self.rootless_cgroup != "" or not self.rootless)
        args = ["kill", *(["--all"] if every else []), cid, str(int(signal))]
        rc, _, err = await self._runtime(cid, *args)
        if rc != 0 and not _already_stopped(err):
            raise SystemError_(f"OCI runtime kill failed: {err}")

    async def pause(self, cid: str) -> None:
        await self._simple("pause", cid)

    async def resume(self, cid: str) -> None:
        await self._simple("resume", cid)

    async def update(self, cid: str, resources: dict[str, Any]) -> None:
        path = os.path.join(await self._bundle(cid), "resources.json")
        with open(path, "w") as f:
            json.dump(resources, f)
        rc, _, err = await self._runtime(cid, "update", f"--resources={path}", cid)
        if rc != 0:
            raise SystemError_(f"Cannot update container {cid}: {err.strip()}")

    async def _simple(self, verb: str, cid: str) -> None:
        rc, _, err = await self._runtime(cid, verb, cid)
        if rc != 0:
            if any(s in err for s in _GONE):
                raise NotFound(f"No such container: {cid}")
            raise SystemError_(f"OCI runtime {verb} failed: {err.strip()}")

    async def delete(self, cid: str, force: bool = False) -> None:
        """Forget ``cid`` in the runtime (``force`` kills it first), remove conmon's files
        from the bundle and the recorded exit status: read ``exit_code`` before."""
        rc, _, err = await self._runtime(cid, "delete", *(["-f"] if force else []), cid)
        if rc != 0 and not any(s in err for s in _GONE):
            raise SystemError_(f"OCI runtime delete failed: {err}")
        bundle = self._bundles.pop(cid, None)
        if bundle is not None:
            for name in _BUNDLE_FILES:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(bundle, name))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.exits_dir, cid))
        self._choose(cid, "")  # forget the choice: the next create makes its own

    async def state(self, cid: str) -> str | None:
        rc, out, err = await self._runtime(cid, "state", cid)
        if rc != 0:
            if any(s in err for s in _GONE):
                return None
            raise SystemError_(f"OCI runtime state failed: {err}")
        try:
            st = json.loads(out)
            self._bundles.setdefault(cid, str(st["bundle"]))
            return str(st["status"])
        except (ValueError, KeyError, TypeError) as e:
            raise SystemError_(f"OCI runtime state failed: unreadable output: {out!r}") from e

    def exit_code(self, cid: str) -> int | None:
        code = proc.read_int_file(os.path.join(self.exits_dir, cid))
        return None if code is None or code < 0 else code

    async def wait_exit(self, monitor_pid: int) -> None:
        await proc.wait_pid(monitor_pid)

    # -- stdio -----------------------------------------------------------------------

    async def attach(self, cid: str, tty: bool) -> AttachSession:
        bundle = await self._bundle(cid)
        try:
            return await connect(bundle, tty)
        except (FileNotFoundError, ConnectionRefusedError) as e:
            raise NotFound(f"container {cid} has no running monitor to attach to") from e

    async def resize(self, cid: str, height: int, width: int) -> None:
        _write_ctl(os.path.join(await self._bundle(cid), "ctl"), height, width)

    # -- exec ------------------------------------------------------------------------

    def _exec_dir(self, exec_id: str) -> str:
        if not exec_id or "/" in exec_id or exec_id in (".", ".."):
            raise NotFound(f"No such exec instance: {exec_id}")
        return os.path.join(self.execs_dir, exec_id)

    async def exec(
        self, cid: str, exec_id: str, process: dict[str, Any], io: IOConfig, attach: bool
    ) -> tuple[ProcessInfo, AttachSession | None]:
        """Run ``process`` in ``cid`` under its own conmon.  With ``attach`` the session is
        connected before the process starts.  The exec directory stays (exit status, ctl
        fifo) until ``cleanup_exec``; a failure removes it and kills the monitor."""
        self._dirs()
        xdir = self._exec_dir(exec_id)
        exit_dir = os.path.join(xdir, "exit")
        os.makedirs(exit_dir, mode=0o700, exist_ok=True)
        spec_path = os.path.join(xdir, "process.json")
        with open(spec_path, "w") as f:
            json.dump(process, f)
        argv = self._conmon_argv(cid, exec_id, xdir, io, exit_dir)
        argv += ["-p", os.path.join(xdir, "pid"), "-e", "--exec-process-spec", spec_path]
        if attach:
            argv.append("--exec-attach")
        pipes: dict[str, tuple[int, int]] = {"_OCI_SYNCPIPE": os.pipe2(os.O_CLOEXEC)}
        if attach:
            pipes["_OCI_ATTACHPIPE"] = os.pipe2(os.O_CLOEXEC)
            pipes["_OCI_STARTPIPE"] = os.pipe2(os.O_CLOEXEC)
        child_ends = {k: (r if k == "_OCI_STARTPIPE" else w) for k, (r, w) in pipes.items()}
        sync = proc.PipeReader(pipes["_OCI_SYNCPIPE"][0])
        start_w = pipes["_OCI_STARTPIPE"][1] if attach else -1
        attach_reader = proc.PipeReader(pipes["_OCI_ATTACHPIPE"][0]) if attach else None
        session: ConmonAttach | None = None
        monitor_pid = 0
        try:
            monitor_pid = await self._launch(argv, child_ends, xdir, start_w)
            if attach_reader is not None:
                ready = await asyncio.wait_for(attach_reader.message(), self.timeout)
                if ready is None or int(ready.get("data", -1)) != 0:
                    raise OSError(errno.EPIPE, "conmon did not open the exec attach socket")
                session = await connect(xdir, io.tty)
                os.write(start_w, b"1")  # 2nd read: the child now runs `<runtime> exec`
                os.close(start_w)
                start_w = -1
            msg = await asyncio.wait_for(sync.message(), self.timeout)
            pid = int(msg.get("data", -1)) if msg else -1
            if pid <= 0:
                text = str(msg.get("message", "")).strip() if msg else ""
                raise _MonitorFailed(text or "conmon exited without a status")
        except (TimeoutError, OSError, ValueError, _MonitorFailed, asyncio.CancelledError) as e:
            if session is not None:
                await session.close()
            sync.close()
            await self._cleanup(xdir, monitor_pid, None)
            shutil.rmtree(xdir, ignore_errors=True)
            if isinstance(e, asyncio.CancelledError):
                raise
            text = str(e) if isinstance(e, _MonitorFailed) else f"conmon: {e}"
            raise SystemError_(f"OCI runtime exec failed: {text}") from None
        finally:
            if start_w >= 0:
                os.close(start_w)
            if attach_reader is not None:
                attach_reader.close()
        self._watch_exec(exec_id, sync)
        info = ProcessInfo(pid=pid, monitor_pid=monitor_pid, pid_start=proc.pid_start_time(pid))
        return info, session

    def _watch_exec(self, exec_id: str, sync: proc.PipeReader) -> None:
        """Keep reading the sync pipe, which carries the exec's exit status last (and so
        conmon never writes into a closed pipe)."""

        async def drain() -> None:
            try:
                while (msg := await sync.message()) is not None:
                    with contextlib.suppress(ValueError, TypeError):
                        self._exec_codes[exec_id] = int(msg.get("data", -1))
            finally:
                sync.close()

        task = asyncio.get_running_loop().create_task(drain())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def exec_exit_code(self, exec_id: str) -> int | None:
        exit_dir = os.path.join(self._exec_dir(exec_id), "exit")
        with contextlib.suppress(OSError):
            for name in os.listdir(exit_dir):
                code = proc.read_int_file(os.path.join(exit_dir, name))
                if code is not None:
                    return None if code < 0 else code
        code = self._exec_codes.get(exec_id)
        return None if code is None or code < 0 else code

    async def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        _write_ctl(os.path.join(self._exec_dir(exec_id), "ctl"), height, width)

    def cleanup_exec(self, exec_id: str) -> None:
        self._exec_codes.pop(exec_id, None)
        shutil.rmtree(self._exec_dir(exec_id), ignore_errors=True)


class _MonitorFailed(Exception):
    """conmon reported a failure (its text is the runtime's) or could not start."""


def _widen_output(pid: int) -> None:
    """Give the created container's stdout and stderr pipes OUTPUT_PIPE bytes: its init has
    not run yet, so its fds 1 and 2 are still conmon's pipes.  Best effort: a pipe the
    kernel will not grow (an unprivileged user over its pipe quota) stays as it is."""
    for n in (1, 2):
        try:
            fd = os.open(f"/proc/{pid}/fd/{n}", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, OUTPUT_PIPE)
        except OSError:
            pass
        finally:
            os.close(fd)


def _log_args(io: IOConfig) -> list[str]:
    """conmon writes the log itself, so it keeps flowing while coved is down: a k8s-file
    capped at ``log_size_max`` (cove's keeper keeps the rotated files), or, for json-file,
    into the keeper's FIFO (no cap: conmon's rotation would rename a file over the FIFO),
    plus the journal for the journald driver."""
    if not io.log_path:
        return ["-l", "none"]
    args = ["-l", f"k8s-file:{io.log_path}"]
    if io.log_size_max > 0:
        args += ["--log-size-max", str(io.log_size_max)]
    with contextlib.suppress(OSError):
        if stat.S_ISFIFO(os.stat(io.log_path).st_mode):
            args.append("--no-sync-log")  # fsync(2) of a FIFO fails: conmon would warn
    if io.log_journald:
        args += ["-l", "journald:"]
        if io.log_tag:
            args += ["--log-tag", io.log_tag]
    return args


def _already_stopped(err: str) -> bool:
    return any(s in err for s in (*_GONE, "not running", "No such process"))


def _write_ctl(path: str, height: int, width: int) -> None:
    """Ask conmon to resize the pty: ``1 <height> <width>\\n`` on its ``ctl`` fifo.  A
    missing fifo or reader means the monitor is gone; a resize then is moot."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENXIO):
            return
        raise SystemError_(f"cannot resize the terminal: {e.strerror}") from e
    try:
        os.write(fd, f"1 {int(height)} {int(width)}\n".encode())
    except OSError as e:
        if e.errno != errno.EAGAIN:
            raise SystemError_(f"cannot resize the terminal: {e.strerror}") from e
    finally:
        os.close(fd)


if TYPE_CHECKING:
    _protocol_check: Runtime = ConmonRuntime()


def _rootless_config(bundle: str, cgroup_base: str) -> None:
    """Rewrite the bundle's config.json for a rootless runtime (crash-safe: temp + replace)."""
    from cove.runtime.rootless import adjust

    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        config = json.load(f)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(adjust(config, cgroup_base), f)
    os.replace(tmp, path)
