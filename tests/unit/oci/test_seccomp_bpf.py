"""The seccomp filter compiled by coved for crun (runtime/seccomp_bpf.py)."""

from __future__ import annotations

import base64

import pytest

from cove.oci.caps import DEFAULT_CAPS
from cove.oci.seccomp import default_section
from cove.runtime import seccomp_bpf

pytestmark = pytest.mark.skipif(seccomp_bpf._library() is None, reason="no libseccomp")


def test_default_profile_compiles_and_is_cached() -> None:
    section = default_section(DEFAULT_CAPS)
    assert section is not None
    value = seccomp_bpf.bpf_annotation(section)
    assert value is not None
    program = base64.b64decode(value)
    assert len(program) % 8 == 0 and len(program) > 8 * 100  # sock_filter entries
    assert seccomp_bpf.bpf_annotation(section) is value


@pytest.mark.parametrize(
    "section",
    [
        {"defaultAction": "SCMP_ACT_NOTIFY", "syscalls": []},
        {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]},
        {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_NOPE"]},
        {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]},
    ],
)  # fmt: skip
def test_left_to_the_runtime(section: dict[str, object]) -> None:
    assert seccomp_bpf.bpf_annotation(section) is None


def test_unknown_names_skipped_like_crun() -> None:
    rule = {"names": ["no_such_call", "mkdir"], "action": "SCMP_ACT_ERRNO"}
    section = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}
    assert seccomp_bpf.bpf_annotation(section) is not None
