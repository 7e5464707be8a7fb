"""The engines under test (cove, docker, podman, and optionally a second cove build), each
with its own data root, exec root and socket.

An engine is started by the bench in a fresh directory under /tmp (`/tmp/cove-bench-<name>-*`,
holding an `owner` file with the bench's pid) and torn down whole at the end: containers
removed through its own CLI, the daemon stopped, then anything still naming the directory
killed (with its descendants), mounts under it detached and the directory deleted.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import procs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = "/tmp/cove-bench-"
IMAGE = "busybox"
CLI_TIMEOUT = 60.0


class EngineError(Exception):
    """The engine could not do what the bench asked (message says what and why)."""


@dataclass
class Result:
    argv: list[str]
    rc: int
    out: str
    err: str
    seconds: float


def short(args: tuple[str, ...] | list[str]) -> str:
    """A command for a message: long ids cut to docker's 12 characters, at most 8 words."""
    words = [
        a[:12] if len(a) == 64 and all(c in "0123456789abcdef" for c in a) else a for a in args
    ]
    return " ".join(words[:8]) + (f" ... (+{len(words) - 8})" if len(words) > 8 else "")


def gist(res: Result) -> str:
    """The distinct lines of what a failed command said, shortened."""
    lines: list[str] = []
    for ln in (res.err.strip() or res.out.strip()).splitlines():
        if ln.strip() and ln.strip() not in lines:
            lines.append(ln.strip())
    text = " | ".join(lines)
    return text if len(text) <= 400 else text[:400] + " ..."


def _tail(path: str, n: int = 2500) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def host_ipv4(dev: str = "eth0") -> str | None:
    """The host's own address, for dockerd's --dns (its resolver then forwards nowhere else)."""
    for args in (["-4", "-o", "addr", "show", "dev", dev], ["-4", "-o", "addr", "show"]):
        try:
            r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        for ln in r.stdout.splitlines():
            f = ln.split()
            if "inet" in f and " lo " not in ln and "scope host" not in ln:
                return f[f.index("inet") + 1].split("/")[0]
    return None


class Engine:
    name = "?"
    has_daemon = True

    def __init__(self, timeout: float = CLI_TIMEOUT) -> None:
        self.timeout = timeout
        self.base = ""
        self.env: dict[str, str] = dict(os.environ)
        self.proc: subprocess.Popen[bytes] | None = None
        self.version = ""

    # -- to be provided by each engine ----------------------------------------------------
    def missing(self) -> str | None:
        """Why this engine cannot run here at all (a binary is absent), or None."""
        raise NotImplementedError

    def argv(self, *args: str) -> list[str]:
        raise NotImplementedError

    def _start(self) -> None:
        raise NotImplementedError

    def daemon_pids(self) -> dict[str, int]:
        """The long-lived daemon processes whose memory counts as the engine's idle cost."""
        return {}

    # -- shared -----------------------------------------------------------------------------
    def mkbase(self) -> None:
        self.base = tempfile.mkdtemp(prefix=f"{PREFIX}{self.name}-", dir="/tmp")
        with open(os.path.join(self.base, "owner"), "w") as f:
            f.write(str(os.getpid()))

    def path(self, *parts: str) -> str:
        return os.path.join(self.base, *parts)

    def start(self) -> None:
        self.mkbase()
        self._start()

    def call(
        self,
        *args: str,
        input: bytes | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> Result:
        argv = self.argv(*args)
        t0 = time.perf_counter()
        try:
            r = subprocess.run(
                argv,
                input=input,
                capture_output=True,
                env=self.env,
                timeout=timeout or self.timeout,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise EngineError(
                f"{self.name} {short(args)}: timed out after {timeout or self.timeout:.0f}s"
            ) from None
        dt = time.perf_counter() - t0
        res = Result(
            argv,
            r.returncode,
            r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace"),
            dt,
        )
        if check and r.returncode != 0:
            raise EngineError(f"{self.name} {short(args)} -> exit {r.returncode}: {gist(res)}")
        return res

    def daemon_alive(self) -> bool:
        return self.proc is None or self.proc.poll() is None

    def wait_ready(self, probe: list[str], log: str, limit: float = 60.0) -> None:
        deadline = time.monotonic() + limit
        last = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise EngineError(
                    f"{self.name}: daemon exited at start (status {self.proc.returncode}); "
                    f"log {log}:\n{_tail(log)}"
                )
            try:
                r = self.call(*probe, timeout=10, check=False)
                if r.rc == 0:
                    return
                last = (r.err or r.out).strip()[-500:]
            except EngineError as e:
                last = str(e)
            time.sleep(0.2)
        raise EngineError(
            f"{self.name}: daemon did not answer in {limit:.0f}s: {last}\n{_tail(log)}"
        )

    def spawn_daemon(self, argv: list[str], log: str) -> None:
        with open(log, "ab") as logf:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C at the terminal reaches the bench, not it
                env=self.env,
            )

    def import_image(self, tar: bytes) -> None:
        self.call("import", "-", f"{IMAGE}:latest", input=tar, timeout=120)

    def container_ids(self) -> list[str]:
        return self.call("ps", "-aq", timeout=30).out.split()

    # docker's `rm -f` kills at once; podman's waits the stop timeout (10 s) first, so it is
    # given `-t 0` to do the same work.
    RM_FORCE: tuple[str, ...] = ("rm", "-f")

    def remove(self, ids: list[str]) -> None:
        if ids:
            self.call(*self.RM_FORCE, *ids, timeout=max(60.0, 5.0 * len(ids)))

    def inspect(self, ids: list[str]) -> list[dict[str, object]]:
        data = json.loads(self.call("inspect", *ids).out)
        if not isinstance(data, list):
            raise EngineError(f"{self.name}: inspect did not return a JSON list")
        return data

    def stop_daemon(self, grace: float = 30.0) -> list[str]:
        notes: list[str] = []
        if self.proc is None:
            return notes
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                notes.append(f"daemon ignored SIGTERM for {grace:.0f}s; killed")
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        return notes

    # Per-container and per-command helpers; none should outlive the case that made them.
    HELPERS = ("podman", "conmon", "crun", "runc", "containerd-shim-runc-v2")

    def settle(self, limit: float = 15.0) -> int:
        """Wait until helpers naming our directory are gone; return how many are left.

        podman's `rm` returns while conmon still runs its exit command (`podman container
        cleanup`): that work must not be billed to whichever engine is measured next.
        """
        if not self.base:
            return 0
        deadline = time.monotonic() + limit
        while True:
            left = [
                p
                for p in procs.pids_naming(self.base)
                if os.path.basename((procs.cmdline(p) or ["?"])[0]) in self.HELPERS
            ]
            if not left or time.monotonic() >= deadline:
                return len(left)
            time.sleep(0.05)

    def teardown(self) -> list[str]:
        """Remove everything; returns notes about what needed force (empty: all was clean)."""
        notes: list[str] = []
        if not self.base:
            return notes
        if self.daemon_alive():
            try:
                self.remove(self.container_ids())
            except Exception as e:  # the forced path below still runs
                notes.append(f"removing containers: {e}")
        try:
            notes += self.stop_daemon()
        except Exception as e:
            notes.append(f"stopping daemon: {e}")
        self.settle(10.0)
        notes += force_clean(self.base)
        self.base = ""
        return notes


def force_clean(base: str) -> list[str]:
    notes: list[str] = []
    victims = procs.descendants(procs.pids_naming(base))
    cgroups = procs.cgroups_of(victims)
    sockets = procs.shim_sockets(victims)
    killed = procs.kill_tree_naming(base)
    if killed:
        more = " ..." if len(killed) > 8 else ""
        notes.append(f"killed {len(killed)} leftover processes: {', '.join(killed[:8])}{more}")
    # Leaf cgroups of what was killed, deepest first, and only those made since this engine
    # started (a shared parent such as libpod_parent/conmon predating us is not ours);
    # rmdir only succeeds on empty ones anyway.
    try:
        born = os.stat(base).st_ctime - 1
    except OSError:
        born = 0.0
    gone = []
    for cg in sorted(cgroups, key=len, reverse=True):
        with contextlib.suppress(OSError):
            if os.stat(cg).st_ctime >= born:
                os.rmdir(cg)
                gone.append(cg)
    if gone:
        notes.append(f"removed {len(gone)} leftover cgroups (e.g. {gone[0]})")
    gone = []
    for sock in sockets:  # a SIGKILLed shim leaves its socket in containerd's state dir
        with contextlib.suppress(OSError):
            os.unlink(sock)
            gone.append(sock)
    if gone:
        notes.append(f"removed {len(gone)} shim sockets (e.g. {gone[0]})")
    unmounted = procs.unmount_under(base)
    if unmounted:
        notes.append(f"unmounted {len(unmounted)} leftover mounts (e.g. {unmounted[0]})")
    err = procs.remove_tree(base)
    if err:
        notes.append(err)
    return notes


def clean_stale() -> list[str]:
    """Directories of earlier bench runs whose owner is gone (a SIGKILLed bench)."""
    notes = []
    for base in glob.glob(PREFIX + "*"):
        try:
            with open(os.path.join(base, "owner")) as f:
                owner = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if procs.alive(owner):
            continue
        for n in force_clean(base):
            notes.append(f"{base}: {n}")
        notes.append(f"cleaned stale {base}")
    return notes


class Cove(Engine):
    name = "cove"
    HINT = "make venv"

    def __init__(self, bindir: str, timeout: float = CLI_TIMEOUT) -> None:
        super().__init__(timeout)
        self.cove = os.path.join(bindir, "cove")
        self.coved = os.path.join(bindir, "coved")

    def missing(self) -> str | None:
        for b in (self.cove, self.coved):
            if not os.access(b, os.X_OK):
                return f"{b} not found ({self.HINT})"
        return None

    def argv(self, *args: str) -> list[str]:
        return [self.cove, *args]

    def _start(self) -> None:
        sock = self.path("cove.sock")
        self.env.update(COVE_HOST="unix://" + sock, COVE_NO_AUTOSTART="1")
        self.env.pop("DOCKER_HOST", None)
        cfg = self.path("daemon.json")
        with open(cfg, "w") as f:
            f.write("{}\n")
        log = self.path("coved.log")
        self.spawn_daemon(
            [
                self.coved,
                "--config-file",
                cfg,
                "--data-root",
                self.path("data"),
                "--exec-root",
                self.path("exec"),
                "-H",
                "unix://" + sock,
                # a bridge and subnet of its own: never shares cove0 with another daemon
                "--bridge",
                self.bridge_name(),
                "--bip",
                _free_bip(),
            ],
            log,
        )
        self.wait_ready(["version"], log, 30)
        r = self.call("version", check=False)
        self.version = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in r.out.splitlines()
                if ln.strip().startswith("Version")
            ),
            r.out.strip()[:40],
        )

    def daemon_pids(self) -> dict[str, int]:
        return {"coved": self.proc.pid} if self.proc else {}

    def bridge_name(self) -> str:
        return "cvb" + os.path.basename(self.base)[-8:].replace("_", "x").replace("-", "x")

    def teardown(self) -> list[str]:
        base, bridge = self.base, self.bridge_name() if self.base else ""
        notes = super().teardown()
        if base:
            import hashlib

            table = "cove_" + hashlib.sha256(os.path.join(base, "exec").encode()).hexdigest()[:8]
            subprocess.run(["nft", "delete", "table", "ip", table], capture_output=True)
            subprocess.run(["ip", "link", "del", bridge], capture_output=True)
        return notes


class CoveBase(Cove):
    """Another build of cove (an older commit in its own virtualenv) run beside the current one.

    Its own directory gives it its own data root, exec root (hence nft table), socket and
    bridge name, exactly as for `cove`; the report's cove/cove-base column is the ratio.
    """

    name = "cove-base"
    HINT = "scripts/bench_base.sh builds it; or give --base-bin / $COVE_BENCH_BASE_BIN"


BASE_BIN_DEFAULT = "/tmp/cove-base/.venv/bin"

# Subnets handed out by this bench: a daemon creates its bridge (and so its route) only when
# a container first needs it, so two coveds started in one run cannot see each other's pick.
_BIPS_TAKEN: set[int] = set()


def _free_bip() -> str:
    """A 10.199.x.1/24 no route of the host uses and no other engine of this run was given."""
    used = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    start = int.from_bytes(os.urandom(1), "big")
    x = next((start + i) % 200 + 20 for i in range(200)
             if f"10.199.{(start + i) % 200 + 20}." not in used
             and (start + i) % 200 + 20 not in _BIPS_TAKEN)  # fmt: skip
    _BIPS_TAKEN.add(x)
    return f"10.199.{x}.1/24"


class Docker(Engine):
    name = "docker"

    def __init__(self, cli: str, timeout: float = CLI_TIMEOUT) -> None:
        super().__init__(timeout)
        self.cli = shutil.which(cli) or cli
        self.dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"

    def missing(self) -> str | None:
        if not os.access(self.dockerd, os.X_OK):
            return "dockerd not installed (apt-get install docker.io)"
        if not shutil.which("containerd"):
            return "containerd not installed (apt-get install containerd)"
        if not os.access(self.cli, os.X_OK):
            return f"docker CLI {self.cli} not found"
        return None

    def argv(self, *args: str) -> list[str]:
        return [self.cli, *args]

    def _start(self) -> None:
        sock = self.path("docker.sock")
        self.env.update(DOCKER_HOST="unix://" + sock, DOCKER_CONFIG=self.path("cli"))
        self.env.pop("DOCKER_CONTEXT", None)
        os.makedirs(self.path("cli"))
        cfg = self.path("daemon.json")  # not /etc/docker/daemon.json: nothing of the host's
        with open(cfg, "w") as f:
            f.write("{}\n")
        argv = [
            self.dockerd,
            "--config-file",
            cfg,
            "--data-root",
            self.path("data"),
            "--exec-root",
            self.path("exec"),
            "-H",
            "unix://" + sock,
            "--pidfile",
            self.path("docker.pid"),
            "--iptables=false",
            "--ip-masq=false",
            "--bridge=none",
            "--userland-proxy=false",
            "--storage-driver",
            "overlay2",
        ]
        dns = host_ipv4()
        if dns:
            argv += ["--dns", dns]
        log = self.path("dockerd.log")
        self.spawn_daemon(argv, log)
        self.wait_ready(["version"], log, 60)
        r = self.call("version", "--format", "{{.Server.Version}}", check=False)
        self.version = r.out.strip()

    def daemon_pids(self) -> dict[str, int]:
        out = {"dockerd": self.proc.pid} if self.proc else {}
        ctrd = procs.pids_named(self.path("exec"), "containerd")
        if ctrd:
            out["containerd"] = ctrd[0]
        return out


class Podman(Engine):
    name = "podman"
    has_daemon = False

    def __init__(self, timeout: float = CLI_TIMEOUT) -> None:
        super().__init__(timeout)
        self.podman = shutil.which("podman") or "/usr/bin/podman"

    def missing(self) -> str | None:
        if not os.access(self.podman, os.X_OK):
            return "podman not installed (apt-get install podman)"
        return None

    def argv(self, *args: str) -> list[str]:
        return [
            self.podman,
            "--root",
            self.path("root"),
            "--runroot",
            self.path("runroot"),
            "--tmpdir",
            self.path("tmp"),
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
            "--storage-driver",
            "overlay",
            *args,
        ]

    def _start(self) -> None:
        conf = self.path("containers.conf")
        # Root here lacks CAP_SYS_RESOURCE (GUIDE §6): podman's defaults (nofile and nproc of
        # 1048576 and more) are above the hard limits, so ask for exactly the limits we have.
        # podman itself first lowers its own nproc to kernel.pid_max, so no more than that.
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
        try:
            with open("/proc/sys/kernel/pid_max") as f:
                pid_max = int(f.read())
            nproc = pid_max if nproc == resource.RLIM_INFINITY else min(nproc, pid_max)
        except (OSError, ValueError):
            pass
        ulimits = []
        if nofile != resource.RLIM_INFINITY:
            ulimits.append(f'"nofile={nofile}:{nofile}"')
        if nproc != resource.RLIM_INFINITY:
            ulimits.append(f'"nproc={nproc}:{nproc}"')
        with open(conf, "w") as f:
            f.write(
                "[containers]\n"
                f"default_ulimits = [{', '.join(ulimits)}]\n"
                "[engine]\n"
                'cgroup_manager = "cgroupfs"\n'
                'events_logger = "file"\n'
                f'events_logfile_path = "{self.path("tmp", "events.log")}"\n'
                f'static_dir = "{self.path("root", "libpod")}"\n'
                f'tmp_dir = "{self.path("tmp")}"\n'
                f'volume_path = "{self.path("root", "volumes")}"\n'
                "[network]\n"
                f'network_config_dir = "{self.path("networks")}"\n'
            )
        storage = self.path("storage.conf")
        with open(storage, "w") as f:
            f.write(
                "[storage]\n"
                'driver = "overlay"\n'
                f'graphroot = "{self.path("root")}"\n'
                f'runroot = "{self.path("runroot")}"\n'
            )
        self.env.update(CONTAINERS_CONF=conf, CONTAINERS_STORAGE_CONF=storage)
        for k in ("CONTAINER_HOST", "CONTAINER_CONNECTION", "DOCKER_HOST"):
            self.env.pop(k, None)
        r = self.call("version", "--format", "{{.Client.Version}}", timeout=60)
        self.version = r.out.strip()
        self.call("info", timeout=60)

    RM_FORCE = ("rm", "-f", "-t", "0")


def make(name: str, args: object) -> Engine:
    timeout = float(getattr(args, "timeout", CLI_TIMEOUT))
    if name == "cove":
        return Cove(
            str(getattr(args, "cove_bin", "")) or os.path.join(ROOT, ".venv", "bin"), timeout
        )
    if name == "cove-base":
        bindir = str(getattr(args, "base_bin", "")) or os.environ.get("COVE_BENCH_BASE_BIN", "")
        return CoveBase(bindir or BASE_BIN_DEFAULT, timeout)
    if name == "docker":
        return Docker(str(getattr(args, "docker_cli", "docker")), timeout)
    if name == "podman":
        return Podman(timeout)
    raise ValueError(f"unknown engine {name!r}")


def busybox_tar() -> bytes:
    r = subprocess.run(
        ["/usr/bin/python3", os.path.join(ROOT, "scripts", "mkbusybox.py"), "-"],
        capture_output=True,
        timeout=120,
    )
    if r.returncode != 0:
        sys.exit("mkbusybox.py failed: " + r.stderr.decode(errors="replace")[-1000:])
    return r.stdout
