"""userns-remap: container root is an unprivileged host user, and nothing else changes.

The daemon runs with ``--userns-remap default``: it creates the ``cove-remap`` user and its
/etc/subuid and /etc/subgid ranges when they are missing (the test removes them again if
it was the one to create them).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tarfile
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import Daemon, running_daemon, tool
from tests.integration.security.conftest import host_key, run_probe

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

USER = "cove-remap"


def _subid_line(path: str) -> tuple[int, int]:
    with open(path) as f:
        for line in f:
            name, start, count = line.strip().split(":")
            if name == USER:
                return int(start), int(count)
    raise AssertionError(f"no {USER} range in {path}")


@pytest.fixture(scope="module")
def remapd() -> Iterator[Daemon]:
    if not shutil.which("useradd"):
        pytest.skip("useradd is needed")
    try:
        pwd.getpwnam(USER)
        made = False
    except KeyError:
        made = True
    try:
        with running_daemon(args=["--userns-remap", "default"], base_mode=0o711) as d:
            yield d
    finally:
        if made:  # userdel drops the user's subordinate ranges too
            subprocess.run(["userdel", USER], capture_output=True)
            subprocess.run(["groupdel", USER], capture_output=True)


@pytest.fixture(scope="module")
def root_ids(remapd: Daemon) -> tuple[int, int]:
    return _subid_line("/etc/subuid")[0], _subid_line("/etc/subgid")[0]


def test_root_inside_is_the_mapped_user_outside(
    remapd: Daemon, root_ids: tuple[int, int], tmp_path: object
) -> None:
    bind = os.path.join(str(tmp_path), "bind")
    os.mkdir(bind)
    os.chmod(bind, 0o1777)  # the host's root owns it: container root is not that user
    r = remapd.cove("run", "--rm", "-v", f"{bind}:/b", "busybox", "sh", "-c",
                    "id; touch /b/made; cat /proc/self/uid_map")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("uid=0(root) gid=0(root)")
    assert r.stdout.split()[-3:] == ["0", str(root_ids[0]), "65536"]
    st = os.stat(os.path.join(bind, "made"))
    assert (st.st_uid, st.st_gid) == root_ids
    # the host's root-owned directory stays the host root's: not writable from inside
    os.chmod(bind, 0o755)
    r = remapd.cove("run", "--rm", "-v", f"{bind}:/b", "busybox", "touch", "/b/denied")
    assert r.returncode != 0 and not os.path.exists(os.path.join(bind, "denied"))


def test_image_content_owned_as_before(remapd: Daemon, root_ids: tuple[int, int]) -> None:
    r = remapd.cove("run", "--rm", "busybox", "sh", "-c",
                    "stat -c '%u:%g %a' /bin/busybox /etc /tmp; head -1 /etc/passwd; "
                    "echo data > /written && cat /written")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:3] == ["0:0 755", "0:0 755", "0:0 1777"]
    assert r.stdout.splitlines()[3].startswith("root:x:0:0")
    assert r.stdout.splitlines()[4] == "data"
    info = remapd.cove("info", "--format", "{{json .SecurityOptions}} {{.DockerRootDir}}")
    assert "name=userns" in info.stdout
    assert info.stdout.strip().endswith(f"{root_ids[0]}.{root_ids[1]}")


def test_docker_cli_exec_and_volumes(remapd: Daemon, root_ids: tuple[int, int]) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([docker, *args], capture_output=True, text=True,
                              env=remapd.env, timeout=60)  # fmt: skip

    r = run("run", "-d", "--name", "uvol", "-v", "uvdata:/data", "busybox", "sleep", "60")
    assert r.returncode == 0, r.stderr
    try:
        r = run("exec", "uvol", "sh", "-c", "id -u; echo v > /data/f; stat -c %u /data/f")
        assert r.stdout.split() == ["0", "0"], r.stderr
        mountpoint = run("volume", "inspect", "-f", "{{.Mountpoint}}", "uvdata").stdout.strip()
        st = os.stat(os.path.join(mountpoint, "f"))
        assert (st.st_uid, st.st_gid) == root_ids
    finally:
        run("rm", "-f", "uvol")
        run("volume", "rm", "uvdata")


def test_userns_host_opts_out(remapd: Daemon, tmp_path: object) -> None:
    bind = str(tmp_path)
    r = remapd.cove("run", "--rm", "--userns=host", "-v", f"{bind}:/b", "busybox", "sh", "-c",
                    "touch /b/host-made; cat /proc/self/uid_map")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0", "4294967295"]
    assert os.stat(os.path.join(bind, "host-made")).st_uid == 0


def test_refused_combinations(remapd: Daemon) -> None:
    for flags, words in (
        (["--privileged"], "privileged mode is incompatible with user namespaces"),
        (["--pid", "host"], "cannot share the host PID namespace"),
        (["--network", "host"], "cannot share the host's network namespace"),
        (["--userns", "other"], "invalid USER mode"),
    ):
        r = remapd.cove("create", *flags, "busybox", "true")
        assert r.returncode != 0 and words in r.stderr, (flags, r.stderr)
    assert remapd.cove("ps", "-aq").stdout.strip() == ""


def test_commit_and_build_record_container_ids(remapd: Daemon, tmp_path: object) -> None:
    """Layers made under the map hold the ids the container saw, not the host's."""
    r = remapd.cove("run", "--name", "ucommit", "busybox", "sh", "-c",
                    "mkdir /made && touch /made/f && chown 1000:1000 /made/f")  # fmt: skip
    assert r.returncode == 0, r.stderr
    try:
        assert remapd.cove("commit", "ucommit", "ucommitted").returncode == 0
        tar = os.path.join(str(tmp_path), "export.tar")
        assert remapd.cove("export", "-o", tar, "ucommit").returncode == 0
        with tarfile.open(tar) as tf:
            owners = {m.name: (m.uid, m.gid) for m in tf if m.name in ("made", "made/f")}
        assert owners == {"made": (0, 0), "made/f": (1000, 1000)}
    finally:
        remapd.cove("rm", "-f", "ucommit")
    r = remapd.cove("run", "--rm", "ucommitted", "stat", "-c", "%u:%g", "/made", "/made/f")
    assert r.stdout.split() == ["0:0", "1000:1000"], r.stderr
    ctx = str(tmp_path)
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write("FROM busybox\nRUN mkdir /r && touch /r/x\nCOPY c /copied\n")
    with open(os.path.join(ctx, "c"), "w") as f:
        f.write("copied\n")
    r = remapd.cove("build", "-q", "-t", "ubuilt", ctx, timeout=120)
    assert r.returncode == 0, r.stderr
    r = remapd.cove("run", "--rm", "ubuilt", "stat", "-c", "%u:%g", "/r/x", "/copied")
    assert r.stdout.split() == ["0:0", "0:0"], r.stderr
    remapd.cove("rmi", "ucommitted", "ubuilt")


def test_keyring_out_of_reach_even_unconfined(remapd: Daemon, probe_binary: str) -> None:
    """Without seccomp the calls run, but as the mapped user: root's keys are not its own,
    and a namespace it makes is nested in its own, with no power over the host's."""
    unconfined = ["--security-opt", "seccomp=unconfined"]
    with host_key() as desc:
        got = run_probe(remapd, probe_binary, unconfined, ["keysearch", desc])
        assert "keysearch" in got and got["keysearch"] != "found host-secret"
        # the calls themselves run (seccomp is off): what they reach is the mapped user's
        got = run_probe(remapd, probe_binary, unconfined, ["unshare_usernet", "add_key"])
        assert got == {"unshare_usernet": "ok", "add_key": "ok"}


def test_cp_both_ways_in_container_ids(remapd: Daemon, tmp_path: object) -> None:
    src = os.path.join(str(tmp_path), "in.txt")
    with open(src, "w") as f:
        f.write("in\n")
    os.chown(src, 1000, 1000)
    cid = remapd.cove("create", "busybox", "stat", "-c", "%u:%g", "/in.txt").stdout.strip()
    try:
        assert remapd.cove("cp", "-a", src, f"{cid}:/in.txt").returncode == 0
        assert remapd.cove("start", "-a", cid).stdout.strip() == "1000:1000"
        out = os.path.join(str(tmp_path), "out.tar")
        r = subprocess.run([tool("cove"), "cp", f"{cid}:/in.txt", "-"], env=remapd.env,
                           capture_output=True, timeout=60)  # fmt: skip
        with open(out, "wb") as f:
            f.write(r.stdout)
        with tarfile.open(out) as tf:
            assert [(m.uid, m.gid) for m in tf] == [(1000, 1000)]
    finally:
        remapd.cove("rm", "-f", cid)
