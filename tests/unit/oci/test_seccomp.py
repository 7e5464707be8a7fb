"""The default seccomp profile as data, and its conversion to OCI linux.seccomp."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cove.errors import InvalidArgument
from cove.oci import seccomp
from cove.oci.caps import ALL_CAPS, DEFAULT_CAPS
from cove.oci.seccomp_default import ALWAYS, CLONE_NAMESPACE_FLAGS, default_profile


def allowed(section: dict[str, Any]) -> set[str]:
    """Names allowed without conditions on their arguments."""
    return {
        n
        for r in section["syscalls"]
        if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args")
        for n in r["names"]
    }


def rules_for(section: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [r for r in section["syscalls"] if name in r["names"]]


def default(caps: Any = DEFAULT_CAPS, machine: str = "x86_64") -> dict[str, Any]:
    out = seccomp.default_section(caps, machine, (6, 1))
    assert out is not None
    return out


def test_default_is_an_allow_list_answering_eperm() -> None:
    s = default()
    assert s["defaultAction"] == "SCMP_ACT_ERRNO"
    assert s["defaultErrnoRet"] == 1
    assert s["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert default(machine="aarch64")["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert len(ALWAYS) == len(set(ALWAYS))


@pytest.mark.parametrize(
    "name",
    ["add_key", "keyctl", "request_key", "bpf", "userfaultfd", "perf_event_open", "kexec_load",
     "kexec_file_load", "init_module", "finit_module", "delete_module", "open_by_handle_at",
     "io_uring_setup", "io_uring_enter", "io_uring_register", "clock_settime", "settimeofday",
     "stime", "mount", "umount2", "unshare", "setns", "reboot", "swapon", "acct", "iopl",
     "pivot_root", "fsopen", "move_mount", "lookup_dcookie", "vhangup", "syslog"],
)  # fmt: skip
def test_blocked_by_default(name: str) -> None:
    assert rules_for(default(), name) == []


@pytest.mark.parametrize(
    "name", ["read", "openat", "execve", "fork", "socket", "ptrace", "process_vm_readv",
             "chroot", "arch_prctl", "modify_ldt", "mkdir", "rt_sigreturn", "futex"]
)  # fmt: skip
def test_allowed_by_default(name: str) -> None:
    assert name in allowed(default())


def test_clone_without_namespace_flags_and_clone3_enosys() -> None:
    s = default()
    (clone,) = rules_for(s, "clone")
    assert clone["args"] == [
        {"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}
    ]
    (clone3,) = rules_for(s, "clone3")
    assert clone3["action"] == "SCMP_ACT_ERRNO" and clone3["errnoRet"] == 38


def test_capabilities_unlock_their_calls() -> None:
    admin = default([*DEFAULT_CAPS, "CAP_SYS_ADMIN"])
    for name in ("mount", "unshare", "setns", "umount2", "clone", "clone3", "bpf"):
        assert name in allowed(admin)
    assert all(not r.get("args") for r in rules_for(admin, "clone"))
    assert all(r["action"] == "SCMP_ACT_ALLOW" for r in rules_for(admin, "clone3"))
    assert "reboot" in allowed(default([*DEFAULT_CAPS, "CAP_SYS_BOOT"]))
    assert "clock_settime" in allowed(default([*DEFAULT_CAPS, "CAP_SYS_TIME"]))
    assert "init_module" in allowed(default([*DEFAULT_CAPS, "CAP_SYS_MODULE"]))
    assert "open_by_handle_at" in allowed(default([*DEFAULT_CAPS, "CAP_DAC_READ_SEARCH"]))
    assert "syslog" in allowed(default([*DEFAULT_CAPS, "CAP_SYSLOG"]))
    assert "chroot" not in allowed(default([c for c in DEFAULT_CAPS if c != "CAP_SYS_CHROOT"]))
    everything = allowed(default(ALL_CAPS))
    assert {"keyctl", "add_key", "userfaultfd", "kexec_load"}.isdisjoint(everything)


def test_personality_only_harmless_values() -> None:
    values = sorted(r["args"][0]["value"] for r in rules_for(default(), "personality"))
    assert values == [0, 8, 0x20000, 0x20008, 0xFFFFFFFF]


def test_arch_only_rules_follow_the_host() -> None:
    arm = allowed(default(machine="aarch64"))
    assert "arch_prctl" not in arm and "set_tls" in arm
    assert "set_tls" not in allowed(default())


def test_ptrace_needs_a_recent_kernel_without_the_capability() -> None:
    old = seccomp.default_section(DEFAULT_CAPS, "x86_64", (4, 4))
    assert old is not None and "ptrace" not in allowed(old)


def test_profile_is_json_and_round_trips() -> None:
    text = json.dumps(default_profile())
    assert seccomp.load(text) == default_profile()


def test_user_profile_name_and_errno() -> None:
    p = {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}  # fmt: skip
    s = seccomp.oci_section(seccomp.load(json.dumps(p)), DEFAULT_CAPS)
    rule = {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}
    assert s == {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}


def test_empty_profile_means_no_seccomp() -> None:
    assert seccomp.oci_section(seccomp.load("{}"), DEFAULT_CAPS) is None


@pytest.mark.parametrize(
    ("profile", "words"),
    [
        ("{bad", "Decoding seccomp profile failed: "),
        ("[]", "Decoding seccomp profile failed: json: cannot unmarshal array into Go value"),
        ('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],'
         '"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}',
         "'architectures' and 'archMap' were specified in the seccomp profile, use either "
         "'architectures' or 'archMap'"),
        ('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["a"],'
         '"action":"SCMP_ACT_ERRNO"}]}',
         "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'"),
        ('{"defaultAction":"SCMP_ACT_BOGUS"}', "string SCMP_ACT_BOGUS is not a valid action for "
         "seccomp"),
        ('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_FOO"]}',
         "string SCMP_ARCH_FOO is not a valid arch for seccomp"),
        ('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ERRNO",'
         '"args":[{"index":0,"op":"SCMP_CMP_FOO","value":1}]}]}',
         "string SCMP_CMP_FOO is not a valid operator for seccomp"),
    ],
)  # fmt: skip
def test_bad_profiles_get_dockers_words(profile: str, words: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        seccomp.load(profile)
    assert str(e.value).startswith(words)
