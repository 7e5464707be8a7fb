"""Rootless case (issue 18): ``run --rm busybox true`` as a regular user, rootless cove
beside rootless podman on the same machine, same user, same image.

The case makes its own user (``covebench``, 65536 subordinate ids past every range in
/etc/subuid and /etc/subgid), starts ``coved --rootless`` as that user, gives rootless
podman the settings this host needs (GUIDE §7: cgroupfs, file events, CNI, the nofile
ceiling), imports the busybox image into both, then times the runs alternately (cove,
podman, cove, ...) so drift hits both alike.  Each engine uses its own default network
(cove: the bridge in the daemon's namespace; podman: slirp4netns per container).  The user,
its processes, ranges and files are removed at the end; /dev/net/tun (and /dev/fuse) are
opened to users (0666, Debian's udev default) for the run and get their modes back.  A
second round restarts cove with ``storage-driver: fuse-overlayfs`` (the storage tier for
kernels that refuse overlayfs in a user namespace) and times it beside podman again.
"cove" slot only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

from peers import ROOT, Engine

USER = "covebench"
RANGE = 65536
METRICS = [
    ("rootless_cove_run_rm", "rootless run --rm true, cove", "ms"),
    ("rootless_podman_run_rm", "rootless run --rm true, podman", "ms"),
    ("rootless_ratio", "rootless cove / rootless podman", "x"),
    ("rootless_fuse_cove_run_rm", "rootless run --rm true, cove on fuse-overlayfs", "ms"),
    ("rootless_fuse_podman_run_rm", "rootless run --rm true, podman (beside the fuse round)", "ms"),
    ("rootless_fuse_ratio", "rootless cove on fuse-overlayfs / rootless podman", "x"),
]
PODMAN_CONF = (
    "[containers]\n"
    'default_ulimits = ["nofile={nofile}:{nofile}"]\n'
    "[engine]\n"
    'cgroup_manager = "cgroupfs"\n'
    'events_logger = "file"\n'
    "[network]\n"
    'network_backend = "cni"\n'
)


def _as_user(pw: pwd.struct_passwd, argv: list[str], stdin: bytes | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    env = {"HOME": pw.pw_dir, "USER": pw.pw_name, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    return subprocess.run(argv, input=stdin, user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
                          env=env, cwd=pw.pw_dir, capture_output=True, timeout=timeout,
                          check=False)  # fmt: skip


def _setup() -> tuple[pwd.struct_passwd, int]:
    sys.path.insert(0, os.path.join(ROOT, "src"))
    from cove.daemon.userns import next_free_start

    subprocess.run(["userdel", "-r", USER], capture_output=True, check=False)
    subprocess.run(["useradd", "-m", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", USER],
                   check=True, capture_output=True)  # fmt: skip
    start = next_free_start()
    ids = f"{start}-{start + RANGE - 1}"
    subprocess.run(["usermod", "--add-subuids", ids, "--add-subgids", ids, USER],
                   check=True, capture_output=True)  # fmt: skip
    return pwd.getpwnam(USER), start


def _teardown(pw: pwd.struct_passwd, start: int, daemon: subprocess.Popen[bytes] | None) -> None:
    _stop(daemon)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # userdel refuses a user who still has processes
        left = 0
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError), open(f"/proc/{name}/status") as f:
                fields = dict(ln.split(":", 1) for ln in f if ":" in ln)
                uid = int(fields["Uid"].split()[0])
                zombie = fields.get("State", "").split()[:1] == ["Z"]
                if not zombie and (uid == pw.pw_uid or start <= uid < start + RANGE):
                    left += 1
                    os.kill(int(name), signal.SIGKILL)
        if not left:
            break
        time.sleep(0.1)
    ids = f"{start}-{start + RANGE - 1}"
    subprocess.run(["usermod", "--del-subuids", ids, "--del-subgids", ids, USER],
                   capture_output=True, check=False)  # fmt: skip
    subprocess.run(["userdel", "-r", USER], capture_output=True, check=False)
    for d in (f"/tmp/cove-{pw.pw_uid}", f"/tmp/podman-run-{pw.pw_uid}",
              f"/tmp/containers-user-{pw.pw_uid}", f"/tmp/run-{pw.pw_uid}"):  # fmt: skip
        shutil.rmtree(d, ignore_errors=True)


def _start_cove(
    pw: pwd.struct_passwd, coved: str, cove: str, errlog: Any
) -> subprocess.Popen[bytes]:
    env = {"HOME": pw.pw_dir, "USER": pw.pw_name, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    daemon = subprocess.Popen([coved, "--rootless"], user=pw.pw_uid, group=pw.pw_gid,
                              extra_groups=[], env=env, cwd=pw.pw_dir,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=errlog, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while _as_user(pw, [cove, "version"]).returncode != 0:
        if daemon.poll() is not None:
            errlog.seek(0)
            err = errlog.read().decode(errors="replace")
            raise RuntimeError(f"coved --rootless exited: {err.strip()[-300:]}")
        if time.monotonic() > deadline:
            raise RuntimeError("coved --rootless did not come up")
        time.sleep(0.2)
    return daemon


def _stop(daemon: subprocess.Popen[bytes] | None) -> None:
    if daemon is not None and daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.wait(30)


def _import(pw: pwd.struct_passwd, argv: list[str], tar: bytes) -> None:
    r = _as_user(pw, [*argv, "import", "-", "busybox:latest"], tar)
    if r.returncode != 0:
        raise RuntimeError(f"{argv[0]} import: {r.stderr.decode()[-300:]}")


def _time_pair(pw: pwd.struct_passwd, cove: str, runs: int, warmup: int
               ) -> tuple[list[float], list[float], list[float]]:  # fmt: skip
    """cove and podman timed alternately; their times and the per-pair ratios."""
    c_ms: list[float] = []
    p_ms: list[float] = []
    for i in range(warmup + runs):
        for argv, out in (([cove], c_ms), (["podman"], p_ms)):
            t0 = time.perf_counter()
            r = _as_user(pw, [*argv, "run", "--rm", "busybox", "true"])
            dt = (time.perf_counter() - t0) * 1000
            if r.returncode != 0:
                raise RuntimeError(f"{argv[0]} run: {r.stderr.decode()[-300:]}")
            if i >= warmup:
                out.append(dt)
    return c_ms, p_ms, [c / p for c, p in zip(c_ms, p_ms, strict=True)]


def _open_to_users(dev: str) -> int:
    mode = os.stat(dev).st_mode & 0o7777
    os.chmod(dev, mode | 0o666)
    return mode


def case_rootless(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    if eng.name != "cove" or not shutil.which("podman") or not shutil.which("newuidmap"):
        return {}
    bin_dir = os.path.join(ROOT, ".venv", "bin")
    cove, coved = os.path.join(bin_dir, "cove"), os.path.join(bin_dir, "coved")
    fuse = os.path.exists("/dev/fuse") and shutil.which("fuse-overlayfs") is not None
    modes = {
        d: _open_to_users(d) for d in ("/dev/net/tun", "/dev/fuse") if d != "/dev/fuse" or fuse
    }
    pw, start = _setup()
    daemon = None
    errlog = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finally; a pipe could fill
    try:
        conf_dir = os.path.join(pw.pw_dir, ".config", "containers")
        _as_user(pw, ["mkdir", "-p", conf_dir])
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        _as_user(pw, ["sh", "-c", f"cat > {conf_dir}/containers.conf"],
                 PODMAN_CONF.format(nofile=nofile).encode())  # fmt: skip
        daemon = _start_cove(pw, coved, cove, errlog)
        tar = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "mkbusybox.py"), "-"],
                             capture_output=True, check=True).stdout  # fmt: skip
        _import(pw, [cove], tar)
        _import(pw, ["podman"], tar)
        c_ms, p_ms, ratio = _time_pair(pw, cove, runs, warmup)
        out = {"rootless_cove_run_rm": c_ms, "rootless_podman_run_rm": p_ms,
               "rootless_ratio": ratio}  # fmt: skip
        if fuse:  # the same again with cove on its fuse-overlayfs storage tier
            _stop(daemon)
            cove_conf = os.path.join(pw.pw_dir, ".config", "cove")
            _as_user(pw, ["mkdir", "-p", cove_conf])
            _as_user(pw, ["sh", "-c", f"cat > {cove_conf}/daemon.json"],
                     b'{"storage-driver": "fuse-overlayfs"}')  # fmt: skip
            daemon = _start_cove(pw, coved, cove, errlog)
            _import(pw, [cove], tar)
            c_ms, p_ms, ratio = _time_pair(pw, cove, runs, warmup)
            out.update(rootless_fuse_cove_run_rm=c_ms, rootless_fuse_podman_run_rm=p_ms,
                       rootless_fuse_ratio=ratio)  # fmt: skip
        return out
    finally:
        _teardown(pw, start, daemon)
        for dev, mode in modes.items():
            os.chmod(dev, mode)
        errlog.close()
