"""--security-opt, --sysctl, --privileged, --device and the daemon's own security options,
end to end: applied in the container, or refused with Docker's words and nothing created."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.daemon_fixture import Daemon, running_daemon

pytestmark = pytest.mark.integration
NO_MKDIR = {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}
SYSTEM_PATHS = "grep -cE ' /proc/(sys|keys) ' /proc/mounts || true"


def sh(daemon: Daemon, *flags: str, script: str) -> subprocess.CompletedProcess[str]:
    return daemon.cove("run", "--rm", *flags, "busybox", "sh", "-c", script)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--security-opt", "bogus=1"], 'invalid --security-opt 2: "bogus=1"'),
        (["--security-opt", "bogus"], 'Invalid --security-opt: "bogus"'),
        (["--security-opt", "no-new-privileges=maybe"],
         'invalid --security-opt 2: "no-new-privileges=maybe"'),
        (["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"],
         'sysctl "net.ipv4.ip_forward" not allowed in host network namespace'),
        (["--ipc", "host", "--sysctl", "kernel.shmmax=1000000"],
         'sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace'),
        (["--sysctl", "vm.swappiness=1"], "sysctl 'vm.swappiness=1' is not allowed"),
        (["--device", "/dev/cove-nonexistent"],
         'error gathering device information while adding custom device '
         '"/dev/cove-nonexistent": no such file or directory'),
        (["--device-cgroup-rule", "x 1:3 rwm"], "invalid device cgroup format 'x 1:3 rwm'"),
        (["--cap-add", "BOGUS"], 'invalid CapAdd: unknown capability: "CAP_BOGUS"'),
    ],
)  # fmt: skip
def test_refused_with_nothing_created(daemon: Daemon, flags: list[str], message: str) -> None:
    before = daemon.cove("ps", "-aq").stdout
    r = daemon.cove("create", *flags, "busybox", "true")
    assert r.returncode != 0 and message in r.stderr, r.stderr
    assert daemon.cove("ps", "-aq").stdout == before


def test_bad_profile_refused_at_create(daemon: Daemon, tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "bad.json")
    with open(path, "w") as f:
        json.dump({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_NOPE"}]}, f)  # fmt: skip
    r = daemon.cove("create", "--security-opt", f"seccomp={path}", "busybox", "true")
    assert r.returncode != 0
    assert "string SCMP_ACT_NOPE is not a valid action for seccomp" in r.stderr


def test_options_kept_in_the_record(daemon: Daemon) -> None:
    opts = ["apparmor=unconfined", "label=disable", "no-new-privileges"]
    cid = daemon.cove(
        "create", *[a for o in opts for a in ("--security-opt", o)], "busybox", "true", check=True
    ).stdout.strip()
    try:
        info = json.loads(daemon.cove("inspect", cid, check=True).stdout)[0]
        assert info["HostConfig"]["SecurityOpt"] == opts
        assert info["AppArmorProfile"] == "unconfined"
        assert "/proc/keys" in info["HostConfig"]["MaskedPaths"]
        assert "/proc/sys" in info["HostConfig"]["ReadonlyPaths"]
    finally:
        daemon.cove("rm", "-f", cid)


def test_sysctls_applied(daemon: Daemon) -> None:
    r = sh(
        daemon, "--sysctl", "kernel.shmmax=1000000", "--sysctl", "net.ipv4.ip_forward=1",
        "--sysctl", "fs.mqueue.msg_max=20", "--sysctl", "kernel.domainname=cove.test",
        script="cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward "
        "/proc/sys/fs/mqueue/msg_max /proc/sys/kernel/domainname",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1000000", "1", "20", "cove.test"]
    # one of the container's interfaces: written once the network is attached
    r = daemon.cove("run", "--rm", "--sysctl", "net.ipv4.conf.eth0.rp_filter=2", "busybox",
                    "cat", "/proc/sys/net/ipv4/conf/eth0/rp_filter")  # fmt: skip
    assert r.returncode == 0 and r.stdout.strip() == "2", r.stderr


def test_systempaths_unconfined(daemon: Daemon) -> None:
    assert sh(daemon, script=SYSTEM_PATHS).stdout.strip() == "2"
    r = sh(daemon, "--security-opt", "systempaths=unconfined", script=SYSTEM_PATHS)
    assert r.stdout.strip() == "0", r.stderr


def test_privileged_and_devices(daemon: Daemon) -> None:
    host_dev = "/dev/kmsg" if os.path.exists("/dev/kmsg") else "/dev/loop-control"
    if not os.path.exists(host_dev):
        pytest.skip("no /dev/kmsg or /dev/loop-control on this host")
    script = f"test -e {host_dev} && echo present; grep -E '^(CapEff|Seccomp):' /proc/self/status"
    default = sh(daemon, script=script)
    assert "present" not in default.stdout and "Seccomp:\t2" in default.stdout
    priv = sh(daemon, "--privileged", script=script)
    assert priv.returncode == 0, priv.stderr
    assert "present" in priv.stdout and "Seccomp:\t0" in priv.stdout
    with open("/proc/self/status") as f:
        host_caps = next(ln for ln in f if ln.startswith("CapBnd:")).split()[1]
    assert f"CapEff:\t{host_caps}" in priv.stdout  # every capability the host can give
    assert sh(daemon, "--privileged", script=SYSTEM_PATHS).stdout.strip() == "0"  # unmasked
    r = sh(daemon, "--device", "/dev/null:/dev/mynull:rw",
           script="echo x > /dev/mynull && ls -l /dev/mynull")  # fmt: skip
    assert r.returncode == 0 and r.stdout.startswith("crw"), r.stderr
    r = sh(daemon, "--cap-drop", "ALL", script="grep CapEff /proc/self/status")
    assert r.stdout.split() == ["CapEff:", "0000000000000000"]


def test_build_run_steps_are_confined(daemon: Daemon, tmp_path: object) -> None:
    ctx = str(tmp_path)
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write("FROM busybox\nRUN grep Seccomp: /proc/self/status\n")
    r = daemon.cove("build", "--no-cache", "-t", "sec-build:1", ctx)
    try:
        assert r.returncode == 0, r.stderr
        assert "Seccomp:\t2" in r.stdout
    finally:
        daemon.cove("rmi", "sec-build:1")


def test_daemon_options(tmp_path: object) -> None:
    profile = os.path.join(str(tmp_path), "no-mkdir.json")
    with open(profile, "w") as f:
        json.dump(
            {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{**NO_MKDIR, "errnoRet": 13}]}, f
        )
    with running_daemon(
        config={"no-new-privileges": True}, args=["--seccomp-profile", profile]
    ) as d:
        info = json.loads(d.cove("info", "--format", "{{json .SecurityOptions}}").stdout)
        assert info == [f"name=seccomp,profile={profile}", "name=no-new-privileges"]
        r = d.cove("run", "--rm", "--network", "none", "busybox", "sh", "-c",
                   "grep NoNewPrivs /proc/self/status; mkdir /x")  # fmt: skip
        assert "NoNewPrivs:\t1" in r.stdout and "Permission denied" in r.stderr
        r = d.cove("run", "--rm", "--network", "none", "--security-opt", "seccomp=builtin",
                   "--security-opt", "no-new-privileges=false", "busybox", "sh", "-c",
                   "grep NoNewPrivs /proc/self/status; mkdir /x && echo made")  # fmt: skip
        assert "NoNewPrivs:\t0" in r.stdout and "made" in r.stdout, r.stderr


def test_info_default(daemon: Daemon) -> None:
    info = json.loads(daemon.cove("info", "--format", "{{json .SecurityOptions}}").stdout)
    assert info == ["name=seccomp,profile=builtin"]


@pytest.mark.skipif(not shutil.which("docker"), reason="the docker CLI is not installed")
def test_docker_cli(daemon: Daemon, tmp_path: object) -> None:
    profile = os.path.join(str(tmp_path), "no-mkdir.json")
    with open(profile, "w") as f:
        f.write('{\n "defaultAction": "SCMP_ACT_ALLOW",\n "syscalls": [{"names": ["mkdir", '
                '"mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]\n}\n')  # fmt: skip

    def docker(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], capture_output=True, text=True,
                              env=daemon.env, timeout=60)  # fmt: skip

    r = docker("run", "--rm", "--network", "none", "--security-opt", f"seccomp={profile}",
               "busybox", "mkdir", "/x")  # fmt: skip
    assert r.returncode == 1 and "Operation not permitted" in r.stderr, r.stderr
    r = docker("run", "--rm", "--network", "none", "--security-opt", "no-new-privileges",
               "--sysctl", "net.ipv4.ip_forward=1", "busybox", "sh", "-c",
               "grep -E 'Seccomp:|NoNewPrivs' /proc/self/status; "
               "cat /proc/sys/net/ipv4/ip_forward")  # fmt: skip
    assert r.stdout.split() == ["NoNewPrivs:", "1", "Seccomp:", "2", "1"], r.stderr
    r = docker("create", "--security-opt", "bogus=1", "busybox", "true")
    assert 'invalid --security-opt 2: "bogus=1"' in r.stderr
    r = docker("run", "--rm", "--network", "none", "--security-opt", "systempaths=unconfined",
               "busybox", "sh", "-c", SYSTEM_PATHS)  # fmt: skip
    assert r.stdout.strip() == "0", r.stderr
