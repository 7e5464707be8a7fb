"""Host preparation: idempotent, the facts match the kernel's, missing parts are named."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cove.errors import SystemError_
from cove.oci.caps import caps_from_mask
from cove.runtime.host import CGROUP_ROOT, HostFacts, cgroup_mode, prepare_host
from tests.integration.runtime.conftest import CONMON, CRUN

pytestmark = pytest.mark.integration


def test_facts_match_the_kernel(host_facts: HostFacts) -> None:
    with open("/proc/self/status") as f:
        mask = next(ln for ln in f if ln.startswith("CapBnd:")).split()[1]
    assert host_facts.bounding_caps == caps_from_mask(int(mask, 16))
    assert host_facts.runtime_version.startswith("crun version")
    assert host_facts.cgroup_mode == cgroup_mode()
    if "CAP_SYS_RESOURCE" not in host_facts.bounding_caps:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        want = -1 if hard == resource.RLIM_INFINITY else hard
        assert host_facts.nofile_max == want


def test_hybrid_layout_is_fixed_and_preparation_is_idempotent(host_facts: HostFacts) -> None:
    again = prepare_host(CRUN, CONMON)
    assert again.mounted == ()  # the first call already did what was needed
    if host_facts.cgroup_mode == "hybrid":
        with open(f"{CGROUP_ROOT}/unified/cgroup.controllers") as f:
            assert f.read().split() == []


def test_missing_binaries_are_named(host_facts: HostFacts) -> None:
    with pytest.raises(SystemError_) as exc:
        prepare_host("/nonexistent/crun", CONMON)
    assert "OCI runtime crun not found at /nonexistent/crun" in exc.value.message
    with pytest.raises(SystemError_) as exc:
        prepare_host(CRUN, "/nonexistent/conmon")
    assert "conmon not found at /nonexistent/conmon" in exc.value.message


SIMULATE = """
import subprocess, sys
from cove.runtime import host
subprocess.run(["umount", "/sys/fs/cgroup/hugetlb"], check=True)
subprocess.run(["mount", "--bind", sys.argv[1], host.CGROUP_ROOT + "/unified/cgroup.controllers"],
               check=True)
print(host.fix_hybrid_cgroups(), host.fix_hybrid_cgroups())
"""


def test_stranded_controller_gets_its_v1_hierarchy(host_facts: HostFacts, tmp_path: Path) -> None:
    """In a private mount namespace (the host's mounts stay as they are), unmount the
    hugetlb hierarchy and make cgroup2 list it again: what this machine looked like."""
    if host_facts.cgroup_mode != "hybrid" or not os.path.ismount(f"{CGROUP_ROOT}/hugetlb"):
        pytest.skip("needs the hybrid layout with hugetlb mounted")
    if not shutil.which("unshare"):
        pytest.skip("needs unshare(1)")
    fake = tmp_path / "controllers"
    fake.write_text("hugetlb\n")
    res = subprocess.run(
        ["unshare", "-m", "--propagation", "private", sys.executable, "-c", SIMULATE, str(fake)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "('hugetlb',) ()"
    assert os.path.ismount(f"{CGROUP_ROOT}/hugetlb")
