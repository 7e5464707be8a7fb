"""``coved --rootless``: the daemon as a regular user, root only inside a user namespace.

How it comes up (the parts rootless Docker takes from RootlessKit, done here in-process):

1. The user's ranges are read from /etc/subuid and /etc/subgid; without one the daemon stops
   with the ``usermod`` command that gives them (only root can).
2. coved forks.  The child unshares a user namespace and waits; the parent maps it with
   Debian's setuid helpers ``newuidmap``/``newgidmap``: id 0 inside is the user, ids 1..n
   are the user's subordinate ids.  So files the daemon writes belong to the user on the
   host, and a container's other users to the subordinate range.
3. The child becomes root of that namespace, unshares a mount and a network namespace (its
   mounts and links are its own), and the parent attaches a user-mode network to the new
   network namespace (network/usermode.py: pasta, else slirp4netns) for outbound traffic
   and published ports.  Then the child goes on as the normal daemon.
4. The child leaves a holder process in the new namespaces (daemon/rootless_ns.py), so they
   outlive the daemon: containers keep running when it stops, and the next ``coved
   --rootless`` joins the same namespaces and picks them up, as the root daemon does.
5. The parent stays to pass SIGTERM/SIGINT on and exits with the daemon's status.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from cove.daemon import rootless_ns
from cove.daemon.config import DaemonConfig
from cove.daemon.userns import SUBGID, SUBUID, read_ranges
from cove.errors import CoveError
from cove.runtime.rootless_cgroup import Delegation, delegate
from cove.util.idmap import IdMap, IdRange
from cove.util.rootless_paths import RootlessPaths, private_runtime_dir, rootless_paths

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
ENV_CHILD = "_COVE_ROOTLESS_CHILD"  # set in the daemon half: it is already in the namespace


@dataclass(frozen=True)
class Session:
    """What the daemon half knows about its rootless setup."""

    paths: RootlessPaths
    user: str
    uid: int
    gid: int
    idmap: IdMap  # container (namespace) ids -> host ids, for info and the docs' ids
    port_api: str  # slirp4netns's API socket (published ports)
    net: str = "slirp4netns"  # the user-mode network: "pasta" or "slirp4netns"
    cgroup: Delegation | None = None  # a delegated cgroup v2 subtree (limits), if any


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def subordinate_map(user: str, uid: int, gid: int) -> IdMap:
    """The namespace's map: 0 -> the user, then the user's ranges, in file order."""
    uids = read_ranges(SUBUID, user, uid)
    gids = read_ranges(SUBGID, user, uid)
    missing = [f for f, r in ((SUBUID, uids), (SUBGID, gids)) if not r]
    if missing:
        raise CoveError(
            f"rootless mode needs subordinate ids for user {user!r}, and {' and '.join(missing)} "
            f"{'has' if len(missing) == 1 else 'have'} none; as root, run: "
            f"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user} "
            "(pick a range no other user has)"
        )

    def ranges(own: int, sub: list[tuple[int, int]]) -> tuple[IdRange, ...]:
        out, nxt = [IdRange(0, own, 1)], 1
        for start, size in sub:
            out.append(IdRange(nxt, start, size))
            nxt += size
        return tuple(out)

    return IdMap(ranges(uid, uids), ranges(gid, gids))


def _helpers() -> tuple[str, str]:
    found = [shutil.which(n) for n in ("newuidmap", "newgidmap")]
    if not all(found):
        raise CoveError(
            "rootless mode needs newuidmap and newgidmap; as root, run: apt-get install uidmap"
        )
    return str(found[0]), str(found[1])


def _map_args(ranges: tuple[IdRange, ...]) -> list[str]:
    return [str(x) for r in ranges for x in (r.container, r.host, r.size)]


def _write_maps(pid: int, idmap: IdMap) -> None:
    newuidmap, newgidmap = _helpers()
    for exe, ranges in ((newuidmap, idmap.uids), (newgidmap, idmap.gids)):
        res = subprocess.run(
            [exe, str(pid), *_map_args(ranges)], capture_output=True, text=True, check=False
        )
        if res.returncode != 0:
            raise CoveError(f"{os.path.basename(exe)} failed: {res.stderr.strip()}")


def _child_setup(ready_w: int, go_r: int, keep_fd: int, exec_root: str) -> None:
    """In the forked child: new user namespace, wait for the maps, then root inside with
    private mount and network namespaces, and a holder that keeps them (rootless_ns.py)."""
    libc = _libc()
    _check(libc.unshare(CLONE_NEWUSER), "unshare(user)")
    os.write(ready_w, b"u")
    if os.read(go_r, 1) != b"m":  # the parent failed to map us: it says why
        os._exit(1)
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    os.setgroups([])
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare(mount, net)")
    # our mounts (overlays, container roots) must not propagate back to the host's view
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount(private /)")
    rootless_ns.spawn_holder(keep_fd, exec_root)
    os.close(keep_fd)  # the holder's copy alone keeps the user-mode network alive
    os.write(ready_w, b"n")
    if os.read(go_r, 1) != b"g":
        os._exit(1)


def _keep(pid: int) -> None:
    """The parent's life after the child runs: relay stop signals, exit with its status."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: os.kill(pid, s))
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            status = 1 << 8
            break
        except InterruptedError:
            continue
    sys.exit(os.waitstatus_to_exitcode(status) if status else 0)


def enter(network: str = "") -> Session:
    """Called by ``coved --rootless`` before anything else.  Returns in the child, as root of
    the new namespaces; the parent never returns.  CoveError for a host that cannot.
    ``network``: the user-mode network asked for (daemon.json's rootless-network)."""
    from cove.network import usermode

    uid, gid = os.getuid(), os.getgid()
    if uid == 0:
        raise CoveError("--rootless is for a regular user; root runs coved without it")
    user = pwd.getpwuid(uid).pw_name
    idmap = subordinate_map(user, uid, gid)
    _helpers()
    paths = rootless_paths()
    try:
        private_runtime_dir(paths.runtime_dir)
        os.makedirs(paths.exec_root, 0o700, exist_ok=True)
        os.makedirs(paths.data_root, 0o700, exist_ok=True)
    except OSError as e:
        raise CoveError(f"rootless directories: {e}") from e
    net_kind = usermode.choose(network)
    # before the namespaces: every process of the daemon starts in its cgroup leaf
    cgroup, why = delegate()
    if cgroup is None:
        print(f"coved: rootless: resource limits are discarded ({why})", file=sys.stderr)
    port_api = os.path.join(paths.exec_root, "usermode-net.sock")
    holder = rootless_ns.live_holder(paths.exec_root)
    if holder:  # the namespaces of an earlier daemon, its containers maybe still running
        # the network that runs is the one the earlier daemon chose
        running = usermode.kind_of(rootless_ns.net_pid(paths.exec_root)) or net_kind
        try:
            rootless_ns.join(holder)
        except OSError as e:
            raise CoveError(str(e)) from e
        os.environ[ENV_CHILD] = "1"
        return Session(paths, user, uid, gid, idmap, port_api, running, cgroup)
    rootless_ns.forget(paths.exec_root)
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    exit_r, exit_w = os.pipe()  # the user-mode network ends when the holder (writer) does
    pid = os.fork()
    if pid == 0:
        for fd in (ready_r, go_w, exit_r):
            os.close(fd)
        try:
            _child_setup(ready_w, go_r, exit_w, paths.exec_root)
        except OSError as e:
            print(f"coved: rootless setup failed: {e}", file=sys.stderr)
            os._exit(1)
        os.close(ready_w)
        os.close(go_r)
        os.environ[ENV_CHILD] = "1"
        return Session(paths, user, uid, gid, idmap, port_api, net_kind, cgroup)
    for fd in (ready_w, go_r, exit_w):
        os.close(fd)
    try:
        if os.read(ready_r, 1) != b"u":
            raise CoveError("rootless setup failed: the daemon could not make a user namespace")
        _write_maps(pid, idmap)
        os.write(go_w, b"m")
        if os.read(ready_r, 1) != b"n":
            raise CoveError("rootless setup failed (see the message above)")
        net = usermode.start(net_kind, pid, port_api, exit_r)
        rootless_ns.record(paths.exec_root, rootless_ns.NET_FILE, net)
        os.write(go_w, b"g")
    except (CoveError, OSError) as e:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        print(f"coved: {e}", file=sys.stderr)
        sys.exit(1)
    os.close(exit_r)
    _keep(pid)
    raise AssertionError("unreachable")


def config_file() -> str:
    """The rootless daemon's daemon.json; never the system's /etc/cove one (an empty file
    stands in when the user has none)."""
    path = rootless_paths().config_file
    return path if os.path.exists(path) else os.devnull


def apply_defaults(cfg: DaemonConfig, session: Session) -> None:
    """The user's directories wherever the config left the system's defaults."""
    base = DaemonConfig()
    if cfg.data_root == base.data_root:
        cfg.data_root = session.paths.data_root
    if cfg.exec_root == base.exec_root:
        cfg.exec_root = session.paths.exec_root
    if cfg.hosts == base.hosts:
        cfg.hosts = [session.paths.host]
    if cfg.group == base.group:
        cfg.group = ""  # the socket stays the user's own, mode 0660
    # the MSS program for host sockets (network/portmss.py) needs BPF on the host's cgroup,
    # which a user may not load; host connections to ports come through slirp4netns anyway
    cfg.local_port_mss = False
    if cfg.userns_remap:
        raise CoveError("userns-remap is not supported in rootless mode")


def rootless_net(session: Session | None) -> dict[str, Any]:
    """NetOptions fields of a rootless daemon: ports through the user-mode network."""
    if session is None:
        return {}
    from cove.network.usermode import forwarder_for

    forwarder = forwarder_for(session.net, session.port_api)
    forwarder.clear()  # an earlier daemon's forwards: the restore makes its own again
    controllers = tuple(sorted(session.cgroup.controllers)) if session.cgroup else ()
    return {"host_forwarder": forwarder, "rootless": True, "cgroup_controllers": controllers}
