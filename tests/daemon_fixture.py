"""A coved of the suite's own: temporary data root, exec root and socket, torn down whole.

Teardown leaves the machine as it was: containers removed through the API, the daemon
stopped, leftover monitors killed, mounts under the data root detached, directories deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

VENV_BIN = os.path.dirname(sys.executable)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tool(name: str) -> str:
    """The venv's console scripts first, so tests run the checkout under test."""
    p = os.path.join(VENV_BIN, name)
    return p if os.path.exists(p) else (shutil.which(name) or name)


@dataclass
class Daemon:
    base: str
    socket: str
    data_root: str
    exec_root: str
    log: str
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)
    # the daemon's own default bridge and subnet, so parallel daemons never share one
    bridge: str = ""
    bip: str = ""
    wrap: list[str] = field(default_factory=list)  # e.g. nsenter --net=...: coved elsewhere
    args: list[str] = field(default_factory=list)  # more coved flags (-H tcp://..., --tls...)

    @property
    def host(self) -> str:
        return "unix://" + self.socket

    def cove(
        self, *args: str, input: bytes | None = None, timeout: float = 60, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(
            [tool("cove"), *args],
            input=input.decode() if input is not None else None,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )
        if check and r.returncode != 0:
            raise AssertionError(f"cove {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def start(self) -> None:
        cfg = os.path.join(self.base, "daemon.json")
        if not os.path.exists(cfg):
            with open(cfg, "w") as f:
                json.dump({}, f)
        logf = open(self.log, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            [
                *self.wrap,
                tool("coved"),
                "--config-file",
                cfg,
                "--data-root",
                self.data_root,
                "--exec-root",
                self.exec_root,
                "-H",
                self.host,
                "--debug",
                *(["--bridge", self.bridge, "--bip", self.bip] if self.bridge else []),
                *self.args,
            ],
            stdout=logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        logf.close()
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("coved exited at start:\n" + self.log_tail())
            if self.ping():
                return
            time.sleep(0.1)
        raise RuntimeError("coved did not answer:\n" + self.log_tail())

    def log_tail(self) -> str:
        with open(self.log, errors="replace") as f:
            return f.read()[-3000:]

    def ping(self) -> bool:
        """GET /_ping over the socket, without going through the CLI under test."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(self.socket)
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: cove\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False
        finally:
            s.close()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def import_busybox(self, tag: str = "busybox:latest") -> None:
        tar = subprocess.run(
            ["/usr/bin/python3", os.path.join(ROOT, "scripts", "mkbusybox.py"), "-"],
            capture_output=True,
            check=True,
        ).stdout
        # through the API directly: the fixture must not depend on the CLI under test
        repo, _, t = tag.rpartition(":")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        try:
            s.connect(self.socket)
            s.sendall(
                # CMD ["sh"] as Docker Hub's busybox has it (scripts/mkbusybox.py)
                f"POST /v1.44/images/create?fromSrc=-&repo={repo}&tag={t}"
                "&changes=CMD%20%5B%22sh%22%5D HTTP/1.1\r\n"
                f"Host: cove\r\nContent-Type: application/x-tar\r\n"
                f"Content-Length: {len(tar)}\r\nConnection: close\r\n\r\n".encode()
                + tar
            )
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
        finally:
            s.close()
        assert reply.startswith(b"HTTP/1.1 200") and b"sha256:" in reply, reply


def _kill_monitors(exec_root: str) -> None:
    """conmon processes whose command line names our exec root."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if exec_root.encode() in cmd and (b"conmon" in cmd or b"crun" in cmd):
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)


def _unmount_under(path: str) -> None:
    with open("/proc/self/mountinfo") as f:
        points = [ln.split()[4] for ln in f]
    for p in sorted((p for p in points if p.startswith(path)), key=len, reverse=True):
        subprocess.run(["umount", "-l", p], capture_output=True)


def pick_test_bridge(base: str) -> tuple[str, str]:
    """A bridge name derived from the temp dir and a free 10.199.x.0/24 for it."""
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    used += subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    start = int.from_bytes(os.urandom(1), "big") % 200
    for i in range(200):
        x = 20 + (start + i) % 200
        if f"10.199.{x}." not in used:
            break
    return "cvt" + os.path.basename(base)[-8:].replace("_", "x"), f"10.199.{x}.1/24"


def remove_network_state(d: Daemon) -> None:
    """The daemon's nft table, its default bridge and the bridges of its networks."""
    from cove.network.names import table_name

    subprocess.run(["nft", "delete", "table", "ip", table_name(d.exec_root)], capture_output=True)
    names = [d.bridge] if d.bridge else []
    netdir = os.path.join(d.data_root, "network")
    for fn in os.listdir(netdir) if os.path.isdir(netdir) else []:
        try:
            with open(os.path.join(netdir, fn)) as f:
                n = json.load(f)
        except (OSError, ValueError):
            continue
        if n.get("Driver") == "bridge" and n.get("Name") != "bridge":
            names.append((n.get("Options") or {}).get("com.docker.network.bridge.name")
                         or "br-" + n["Id"][:12])  # fmt: skip
    for name in names:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


@contextlib.contextmanager
def running_daemon(
    busybox: bool = True,
    config: dict[str, object] | None = None,
    args: list[str] | None = None,
    base_mode: int = 0o700,
    data_root_mb: int = 0,
) -> Iterator[Daemon]:
    """``config``: daemon.json keys for this daemon (registry-mirrors, ...); ``args``: flags;
    ``base_mode``: of its temp directory (0711 lets a remapped root reach its data root);
    ``data_root_mb``: the data root on a tmpfs of that size (disk-full tests), unmounted after."""
    base = tempfile.mkdtemp(prefix="cove-test-", dir="/tmp")
    os.chmod(base, base_mode)
    if config:
        with open(os.path.join(base, "daemon.json"), "w") as f:
            json.dump(config, f)
    d = Daemon(
        base=base,
        socket=os.path.join(base, "cove.sock"),
        data_root=os.path.join(base, "data"),
        exec_root=os.path.join(base, "run"),
        log=os.path.join(base, "coved.log"),
        args=list(args or []),
    )
    d.bridge, d.bip = pick_test_bridge(base)
    d.env = {**os.environ, "COVE_HOST": d.host, "DOCKER_HOST": d.host, "COVE_NO_AUTOSTART": "1"}
    try:
        if data_root_mb:
            os.makedirs(d.data_root)
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={data_root_mb}m", "tmpfs", d.data_root],
                check=True,
            )
        d.start()
        if busybox:
            d.import_busybox()
        yield d
    finally:
        if d.proc is not None:
            ids = d.cove("ps", "-aq").stdout.split()
            if ids:
                d.cove("rm", "-f", *ids)
        d.stop()
        _kill_monitors(d.exec_root)
        subprocess.run(["crun", f"--root={d.exec_root}/runtime", "list", "-q"], capture_output=True)
        _unmount_under(base)
        remove_network_state(d)
        subprocess.run(["rm", "-rf", "--one-file-system", base], capture_output=True)
