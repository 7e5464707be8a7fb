"""Fixtures for the runtime layer against the real crun and conmon, without a daemon.

Each test gets its own runtime state root and exec root in a temporary directory and a
cgroup parent of its own; teardown force-deletes whatever the runtime still lists, kills
any monitor left, removes the cgroup parents, and fails the test if anything survived.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from cove.oci.spec import ContainerSpec, build_config
from cove.oci.user import resolve_user
from cove.runtime.conmon import ConmonRuntime
from cove.runtime.host import HostFacts, prepare_host

CRUN = "/usr/bin/crun"
RUNC = "/usr/sbin/runc"
CONMON = "/usr/bin/conmon"
BUSYBOX = "/usr/bin/busybox"

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
GROUP = "root:x:0:\ntty:x:5:\nwheel:x:10:root\nnogroup:x:65534:\n"


@pytest.fixture(scope="session")
def host_facts() -> HostFacts:
    if os.geteuid() != 0:
        pytest.skip("runtime integration tests need root")
    for path in (CRUN, CONMON, BUSYBOX):
        if not os.access(path, os.X_OK):
            pytest.skip(f"{path} is needed (apt-get install crun conmon busybox-static)")
    return prepare_host(CRUN, CONMON)


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = str(tmp_path_factory.mktemp("busybox") / "rootfs")
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "home"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True)
    for name in applets.stdout.split():
        if name != "busybox":
            os.symlink("busybox", os.path.join(root, "bin", name))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write(PASSWD)
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write(GROUP)
    return root


@dataclass
class RuntimeEnv:
    rt: ConmonRuntime
    root: str
    rootfs: str
    facts: HostFacts
    cgroup_parent: str
    monitors: list[int] = field(default_factory=list)

    def spec(self, cid: str, args: list[str], user: str = "", **kw: Any) -> ContainerSpec:
        uid, gid, gids, home = resolve_user(user, PASSWD, GROUP)
        return ContainerSpec(
            rootfs=self.rootfs,
            args=args,
            uid=uid,
            gid=gid,
            additional_gids=gids,
            home=home,
            hostname=cid,
            host_caps=self.facts.bounding_caps,
            host_rlimits=self.facts.rlimits,
            cgroups_path=f"{self.cgroup_parent}/{cid}",
            **kw,
        )

    def bundle(self, cid: str, args: list[str], user: str = "", **kw: Any) -> str:
        bundle = os.path.join(self.root, "bundles", cid)
        os.makedirs(bundle, exist_ok=True)
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(build_config(self.spec(cid, args, user, **kw)), f)
        return bundle

    def listed(self) -> list[str]:
        out = subprocess.run(
            [self.rt.runtime_path, f"--root={self.rt.state_root}", "list", "-q"],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.split()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    return False


@contextlib.contextmanager
def runtime_env(runtime: str, facts: HostFacts, rootfs: str, root: str) -> Iterator[RuntimeEnv]:
    """A ConmonRuntime over ``runtime`` with its state under ``root``; on the way out whatever
    it still lists is force-deleted, monitors left are killed and the cgroup parents removed,
    and leftovers fail the test."""
    rt = ConmonRuntime(
        runtime, CONMON, state_root=os.path.join(root, "state"), exec_root=os.path.join(root, "run")
    )
    env = RuntimeEnv(rt, root, rootfs, facts, f"/cove-itest-{os.getpid()}")
    yield env
    leftovers = env.listed()
    for cid in leftovers:
        subprocess.run([runtime, f"--root={rt.state_root}", "delete", "-f", cid], check=False)
    survivors = [pid for pid in env.monitors if _alive(pid)]
    for pid in survivors:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in survivors) and time.monotonic() < deadline:
        time.sleep(0.02)
    for d in glob.glob(f"/sys/fs/cgroup/*{env.cgroup_parent}"):
        for sub in glob.glob(f"{d}/*/"):
            with contextlib.suppress(OSError):
                os.rmdir(sub)
        with contextlib.suppress(OSError):
            os.rmdir(d)
    assert not leftovers, f"containers left in the runtime: {leftovers}"
    assert not survivors, f"monitors left running: {survivors}"
    assert env.listed() == []
    assert not glob.glob(f"/sys/fs/cgroup/*{env.cgroup_parent}")


@pytest.fixture(params=[CRUN, RUNC], ids=["crun", "runc"])
def rtenv(
    request: pytest.FixtureRequest, host_facts: HostFacts, busybox_rootfs: str, tmp_path: Any
) -> Iterator[RuntimeEnv]:
    runtime = str(request.param)
    if not os.access(runtime, os.X_OK):
        pytest.skip(f"{runtime} is not installed")
    with runtime_env(runtime, host_facts, busybox_rootfs, str(tmp_path)) as env:
        yield env
