"""The default seccomp profile against real containers, with a static syscall probe.

Each row names a check of probe.c and what it answers in a default container; the same
checks then run with the filter off (seccomp=unconfined), with --privileged, and with the
capability that unlocks them.  Results the kernel decides (not the filter) are compared
with the probe run on the host itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.daemon_fixture import Daemon
from tests.integration.security.conftest import Probe, host_key, parse, run_probe

pytestmark = pytest.mark.integration

# check -> answer in a default container
BLOCKED = {
    "keyctl": "EPERM", "add_key": "EPERM", "request_key": "EPERM",
    "unshare_usernet": "EPERM", "unshare_mnt": "EPERM", "mount": "EPERM",
    "clone_newns": "EPERM", "clone3": "ENOSYS", "userfaultfd": "EPERM",
    "perf_event_open": "EPERM", "io_uring_setup": "EPERM", "bpf": "EPERM",
    "personality_exec": "EPERM", "open_by_handle_at": "EPERM", "clock_settime": "EPERM",
    "reboot": "EPERM", "kexec_load": "EPERM", "init_module": "EPERM",
}  # fmt: skip
ORDINARY = ("file_io", "mkdir", "socket", "fork", "execve", "thread", "ptrace_child",
            "process_vm_readv", "personality_query")  # fmt: skip
# With the filter off, what a root with Docker's default capabilities gets from the kernel.
UNCONFINED_OK = ("keyctl", "add_key", "request_key", "unshare_usernet", "clone3",
                 "userfaultfd", "personality_exec")  # fmt: skip
NEEDS_CAPS = ("unshare_mnt", "mount", "clone_newns", "bpf", "open_by_handle_at", "reboot")
# past the filter, these two reach the kernel's argument checks (nothing is changed)
EINVAL_PAST_FILTER = ("clock_settime", "reboot")
HOST_DEPENDENT = ("perf_event_open", "io_uring_setup")  # sysctls of the host decide


@pytest.fixture(scope="module")
def host_answers(probe_binary: str) -> dict[str, str]:
    r = subprocess.run([probe_binary, *HOST_DEPENDENT], capture_output=True, text=True)
    return parse(r.stdout)


def test_default_blocks_and_allows(probe: Probe) -> None:
    got = probe()
    assert {k: got.get(k) for k in BLOCKED} == BLOCKED
    assert {k: got.get(k) for k in ORDINARY} == dict.fromkeys(ORDINARY, "ok")


@pytest.mark.skipif(not shutil.which("runc"), reason="runc is not installed")
def test_default_under_runc(probe: Probe) -> None:
    # crun gets the filter compiled by coved; runc compiles the OCI section itself
    got = probe("--runtime", "runc")
    assert {k: got.get(k) for k in BLOCKED} == BLOCKED
    assert {k: got.get(k) for k in ORDINARY} == dict.fromkeys(ORDINARY, "ok")


def test_exec_runs_under_the_containers_filter(daemon: Daemon, probe_binary: str) -> None:
    cid = daemon.cove(
        "run", "-d", "--network", "none", "busybox", "sleep", "60", check=True
    ).stdout.strip()
    try:
        daemon.cove("cp", probe_binary, f"{cid}:/probe", check=True)
        got = parse(daemon.cove("exec", cid, "/probe", check=True).stdout)
        assert {k: got.get(k) for k in BLOCKED} == BLOCKED
        assert {k: got.get(k) for k in ORDINARY} == dict.fromkeys(ORDINARY, "ok")
        status = daemon.cove("exec", cid, "cat", "/proc/self/status", check=True).stdout
        assert "Seccomp:\t2" in status
    finally:
        daemon.cove("rm", "-f", cid)


def test_unconfined(probe: Probe, host_answers: dict[str, str]) -> None:
    got = probe("--security-opt", "seccomp=unconfined")
    assert {k: got[k] for k in UNCONFINED_OK} == dict.fromkeys(UNCONFINED_OK, "ok")
    assert {k: got[k] for k in NEEDS_CAPS} == dict.fromkeys(NEEDS_CAPS, "EPERM")
    assert got["clock_settime"] == "EINVAL"
    assert {k: got[k] for k in HOST_DEPENDENT} == host_answers
    assert {k: got.get(k) for k in ORDINARY} == dict.fromkeys(ORDINARY, "ok")


def test_privileged(probe: Probe, host_answers: dict[str, str]) -> None:
    got = probe("--privileged")
    free = (*UNCONFINED_OK, "unshare_mnt", "mount", "clone_newns", "bpf", "open_by_handle_at")
    assert {k: got[k] for k in free} == dict.fromkeys(free, "ok")
    assert {k: got[k] for k in EINVAL_PAST_FILTER} == dict.fromkeys(EINVAL_PAST_FILTER, "EINVAL")
    assert {k: got[k] for k in HOST_DEPENDENT} == host_answers
    assert {k: got.get(k) for k in ORDINARY} == dict.fromkeys(ORDINARY, "ok")


@pytest.mark.parametrize(
    ("cap", "unlocked"),
    [
        ("SYS_ADMIN", {"unshare_mnt": "ok", "mount": "ok", "clone_newns": "ok", "clone3": "ok",
                       "unshare_usernet": "ok", "bpf": "ok"}),
        ("SYS_BOOT", {"reboot": "EINVAL"}),
        ("SYS_TIME", {"clock_settime": "EINVAL"}),
        ("DAC_READ_SEARCH", {"open_by_handle_at": "ok"}),
    ],
)  # fmt: skip
def test_capability_unlocks_its_calls(probe: Probe, cap: str, unlocked: dict[str, str]) -> None:
    got = probe("--cap-add", cap)
    assert {k: got[k] for k in unlocked} == unlocked
    # the keyring stays shut whatever the capabilities
    assert got["keyctl"] == "EPERM" and got["add_key"] == "EPERM"


def test_host_keyring_is_out_of_reach(daemon: Daemon, probe_binary: str) -> None:
    with host_key() as desc:
        got = run_probe(daemon, probe_binary, [], ["keysearch", desc])
        assert got == {"keysearch": "EPERM"}
        # the probe does find it when the filter is off: the check above means something
        open_ = run_probe(
            daemon, probe_binary, ["--security-opt", "seccomp=unconfined"], ["keysearch", desc]
        )
        assert open_ == {"keysearch": "found host-secret"}


def test_status_and_custom_profile(daemon: Daemon, probe: Probe, tmp_path: object) -> None:
    def status(*flags: str) -> str:
        return daemon.cove(
            "run", "--rm", "--network", "none", *flags, "busybox", "cat", "/proc/self/status",
            check=True,
        ).stdout  # fmt: skip

    default = status()
    assert "Seccomp:\t2" in default and "NoNewPrivs:\t0" in default
    nnp = status("--security-opt", "no-new-privileges")
    assert "NoNewPrivs:\t1" in nnp
    assert "NoNewPrivs:\t1" in status("--security-opt", "no-new-privileges:true")
    assert "NoNewPrivs:\t0" in status("--security-opt", "no-new-privileges=false")
    assert "Seccomp:\t0" in status("--security-opt", "seccomp=unconfined")
    profile = os.path.join(str(tmp_path), "no-mkdir.json")
    with open(profile, "w") as f:
        f.write('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", '
                '"mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}')  # fmt: skip
    got = probe("--security-opt", f"seccomp={profile}", checks=("mkdir", "file_io"))
    assert got == {"mkdir": "EACCES", "file_io": "ok"}
