"""Two regular users, each with a rootless coved of their own (docs/rootless.md).

The users are made for the run (``useradd``, no subordinate ids from login.defs, then a
range of 65536 past every range in /etc/subuid and /etc/subgid) and removed at the end with
every process and file they made: their daemons are stopped, whatever is left running as
them or their subordinate ids is killed, and ``userdel -r`` takes their homes.  The
busybox image is imported by each user.  /dev/net/tun must be usable by users (Debian's
udev gives it 0666); a host that has it 0600 gets 0666 for the run and its mode back after.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from cove.daemon.userns import next_free_start

# the virtualenv running the tests (its python, cove and coved), not whatever `coved` is first
# on PATH: `make demo`'s /usr/local/bin links point elsewhere and have no python beside them
VENV_BIN = os.path.dirname(sys.executable)
COVE = os.path.join(VENV_BIN, "cove")
COVED = os.path.join(VENV_BIN, "coved")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
RANGE = 65536


@dataclass
class User:
    name: str
    uid: int
    gid: int
    home: str
    sub_start: int
    daemon: subprocess.Popen[bytes] | None = None

    @property
    def runtime_dir(self) -> str:
        return f"/tmp/cove-{self.uid}"

    @property
    def socket(self) -> str:
        return f"{self.runtime_dir}/cove.sock"

    @property
    def env(self) -> dict[str, str]:
        return {
            "HOME": self.home,
            "USER": self.name,
            "LOGNAME": self.name,
            "PATH": f"{VENV_BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
            "DOCKER_HOST": f"unix://{self.socket}",
        }

    def run(
        self, *argv: str, input: bytes | None = None, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``argv`` as this user (not root at any moment), in its home."""
        return subprocess.run(
            list(argv),
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            env={**self.env, **env},
            cwd=self.home,
            input=input.decode() if input is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def cove(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.run(COVE, *args, timeout=timeout)

    def ok(self, *args: str) -> str:
        r = self.cove(*args)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r.stdout

    def start(self, registry: str = "", launcher: tuple[str, ...] = ()) -> None:
        """``registry``: host:port the daemon may reach over plain HTTP (its daemon.json).
        ``launcher``: argv run as root in front of coved's, that becomes the user itself
        (test_rootless_cgroup.py's: it moves into a cgroup first)."""
        if registry:
            conf = os.path.join(self.home, ".config", "cove")
            self.run("mkdir", "-p", conf)
            self.run("sh", "-c", f"echo '{{\"insecure-registries\": [\"{registry}\"]}}' "
                     f"> {conf}/daemon.json")  # fmt: skip
        log = open(os.path.join(self.home, "coved.log"), "ab")  # noqa: SIM115 - held by Popen
        who: dict[str, object] = {}
        if not launcher:
            who = {"user": self.uid, "group": self.gid, "extra_groups": []}
        self.daemon = subprocess.Popen(
            [*launcher, COVED, "--rootless"],
            **who,  # type: ignore[arg-type]
            env=self.env,
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError(f"coved --rootless exited: {self.log()}")
            if os.path.exists(self.socket) and self.cove("version").returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"coved --rootless did not come up: {self.log()}")

    def log(self) -> str:
        with open(os.path.join(self.home, "coved.log"), errors="replace") as f:
            return f.read()[-4000:]

    def stop(self) -> None:
        if self.daemon is None or self.daemon.poll() is not None:
            return
        self.daemon.send_signal(signal.SIGTERM)
        try:
            self.daemon.wait(30)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            self.daemon.wait()


def _uids_of(pid: str) -> int:
    """The process's real uid; -1 for a zombie (dead already, waiting for its parent)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("State:") and line.split()[1] == "Z":
                return -1
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return -1


def _kill_all(users: list[User]) -> None:
    """Every process left running as a test user or one of its subordinate ids."""

    def ours(uid: int) -> bool:
        return any(uid == u.uid or u.sub_start <= uid < u.sub_start + RANGE for u in users)

    deadline = time.monotonic() + 10
    while True:  # until none is left: userdel refuses a user who still has processes
        left = 0
        for name in os.listdir("/proc"):
            if name.isdigit():
                with contextlib.suppress(OSError, ValueError):
                    if ours(_uids_of(name)):
                        left += 1
                        os.kill(int(name), signal.SIGKILL)
        if not left or time.monotonic() > deadline:
            return
        time.sleep(0.1)


def _make_user(name: str) -> User:
    subprocess.run(["userdel", "-r", name], capture_output=True, check=False)
    subprocess.run(
        ["useradd", "-m", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name],
        check=True,
        capture_output=True,
    )
    start = next_free_start()
    last = start + RANGE - 1
    subprocess.run(
        ["usermod", "--add-subuids", f"{start}-{last}", "--add-subgids", f"{start}-{last}", name],
        check=True,
        capture_output=True,
    )
    pw = pwd.getpwnam(name)
    return User(name, pw.pw_uid, pw.pw_gid, pw.pw_dir, start)


def _remove_user(u: User) -> None:
    last = u.sub_start + RANGE - 1
    subprocess.run(
        ["usermod", "--del-subuids", f"{u.sub_start}-{last}", "--del-subgids",
         f"{u.sub_start}-{last}", u.name],
        capture_output=True,
        check=False,
    )  # fmt: skip
    subprocess.run(["userdel", "-r", u.name], capture_output=True, check=False)
    shutil.rmtree(u.runtime_dir, ignore_errors=True)


def host_address() -> str:
    """An address of this machine that is not loopback: the user-mode network reaches the
    host through it (nothing leaves the machine)."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    for line in out.splitlines():
        return line.split()[3].split("/")[0]
    pytest.skip("no non-loopback IPv4 address on this host")


_REGISTRY: list[str] = []


def import_busybox(u: User) -> None:
    """The locally built busybox, imported by the user as busybox:latest."""
    image = subprocess.run(
        ["python3", os.path.join(ROOT, "scripts", "mkbusybox.py"), "-"],
        capture_output=True,
        check=True,
    ).stdout
    r = subprocess.run([COVE, "import", "-", "busybox:latest"], input=image, user=u.uid,
                       group=u.gid, extra_groups=[], env=u.env, cwd=u.home,
                       capture_output=True, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr


def check_outbound(u: User) -> None:
    """A container of ``u`` reaches a listener on the host's own address (nothing leaves
    the machine).  wget, not nc: a client that half-closes first can miss the server's
    close with Debian 12's pasta (docs/rootless.md)."""
    import threading

    host = host_address()
    srv = socket.socket()
    srv.bind((host, 0))
    srv.listen(1)
    srv.settimeout(30)

    def answer() -> None:
        try:
            conn, _ = srv.accept()
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello-from-host\n")
            conn.close()
        except OSError:
            pass

    t = threading.Thread(target=answer)
    t.start()
    try:
        url = f"http://{host}:{srv.getsockname()[1]}/"
        assert u.ok("run", "--rm", "busybox", "wget", "-q", "-O-", url) == "hello-from-host\n"
    finally:
        t.join(35)
        srv.close()


def registry_address() -> str:
    """host:port for the test registry, fixed for the session (the daemons trust it)."""
    if not _REGISTRY:
        with socket.socket() as s:
            s.bind((host_address(), 0))
            _REGISTRY.append(f"{host_address()}:{s.getsockname()[1]}")
    return _REGISTRY[0]


@contextlib.contextmanager
def usable_by_users(dev: str, why: str) -> Iterator[None]:
    """``dev`` readable and writable by everyone for the run (Debian's udev gives
    /dev/net/tun and /dev/fuse 0666; a host that has 0600 gets its mode back after)."""
    if not os.path.exists(dev):
        pytest.skip(f"no {dev}: {why}")
    st = os.stat(dev)
    if st.st_mode & 0o006 != 0o006:
        os.chmod(dev, 0o666)
    try:
        yield
    finally:
        os.chmod(dev, st.st_mode & 0o7777)


def fuse_servers(u: User) -> list[int]:
    """Running fuse-overlayfs processes of ``u`` (a zombie has ended: reaping it is the
    job of the init it was handed to, which on some hosts is slow)."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                comm, _, rest = f.read().partition(") ")
            owner = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        if comm.endswith("(fuse-overlayfs") and rest[:1] != "Z" and owner == u.uid:
            out.append(int(pid))
    return out


def fuse_mounts(u: User) -> list[str]:
    """fuse-overlayfs mount points in the daemon's mount namespace (the holder's view)."""
    with open(f"{u.runtime_dir}/cove/ns.pid") as f:
        holder = f.read().strip()
    with open(f"/proc/{holder}/mountinfo") as f:
        return [ln.split()[4] for ln in f if " - fuse.fuse-overlayfs " in ln]


def fuse_settled(u: User, servers: int = 0, mounts: int = 0) -> tuple[list[int], list[str]]:
    """Wait (bounded) for the servers of unmounted filesystems to finish exiting."""
    deadline = time.monotonic() + 10
    while True:
        left = (fuse_servers(u), fuse_mounts(u))
        if (len(left[0]), len(left[1])) == (servers, mounts) or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.fixture(scope="session")
def tun_for_users() -> Iterator[None]:
    with usable_by_users("/dev/net/tun", "slirp4netns needs the tun device"):
        yield


@contextlib.contextmanager
def user_with_config(
    name: str, config: dict[str, object], tools: tuple[str, ...]
) -> Iterator[User]:
    """One more user, whose rootless daemon runs with ``config`` as its daemon.json and has
    busybox; removed with all it made afterwards.  ``tools``: what the test needs besides
    uidmap, crun and conmon (skipped without)."""
    for tool in (*tools, "newuidmap", "crun", "conmon"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} (make deps)")
    u = _make_user(name)
    try:
        conf = os.path.join(u.home, ".config", "cove")
        u.run("mkdir", "-p", conf)
        u.run("sh", "-c", f"cat > {conf}/daemon.json", input=json.dumps(config).encode())
        u.start()
        import_busybox(u)
        yield u
    finally:
        u.stop()
        _kill_all([u])
        _remove_user(u)


@pytest.fixture(scope="session")
def users(tun_for_users: None) -> Iterator[list[User]]:
    for tool in ("newuidmap", "slirp4netns", "crun", "conmon"):
        if shutil.which(tool) is None:
            pytest.skip(f"rootless tests need {tool} (make deps)")
    made: list[User] = []
    try:
        for name in ("covert1", "covert2"):
            made.append(_make_user(name))
        for u in made:
            u.start(registry_address())
            import_busybox(u)
        yield made
    finally:
        for u in made:
            u.stop()
        _kill_all(made)
        for u in made:
            _remove_user(u)


@pytest.fixture(scope="session")
def alice(users: list[User]) -> User:
    return users[0]


@pytest.fixture(scope="session")
def bob(users: list[User]) -> User:
    return users[1]
