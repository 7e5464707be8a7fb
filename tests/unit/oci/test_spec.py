"""config.json as dockerd would write it, with cove's host clamping."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cove.errors import InvalidArgument
from cove.oci.caps import DEFAULT_CAPS, caps_from_mask
from cove.oci.spec import (
    DEFAULT_MASKED_PATHS,
    DEFAULT_PATH,
    DEFAULT_READONLY_PATHS,
    RLIM_INFINITY,
    ContainerSpec,
    build_config,
    build_exec_process,
    merge_env,
    process_env,
)

HOST = caps_from_mask(0x000001FFFEFFFFFF)


def spec(**kw: Any) -> ContainerSpec:
    base: dict[str, Any] = {"rootfs": "/r", "args": ["sh"], "hostname": "abc"}
    base.update(kw)
    return ContainerSpec(**base)


def mounts_by_dest(cfg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["destination"]: m for m in cfg["mounts"]}


def test_default_config_is_dockers() -> None:
    cfg = build_config(spec(env=["A=1"], cgroups_path="/cove/x"))
    json.dumps(cfg)  # serializable
    assert cfg["root"] == {"path": "/r", "readonly": False}
    assert cfg["hostname"] == "abc"
    p = cfg["process"]
    assert p["args"] == ["sh"] and p["cwd"] == "/" and p["terminal"] is False
    assert p["user"] == {"uid": 0, "gid": 0}
    assert p["env"] == [f"PATH={DEFAULT_PATH}", "HOSTNAME=abc", "A=1"]
    assert p["capabilities"]["bounding"] == list(DEFAULT_CAPS)
    assert p["capabilities"]["effective"] == list(DEFAULT_CAPS)
    assert "inheritable" not in p["capabilities"]
    assert p["oomScoreAdj"] == 0 and p["noNewPrivileges"] is False
    assert p["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 1048576, "soft": 1048576}]
    linux = cfg["linux"]
    assert [n["type"] for n in linux["namespaces"]] == ["mount", "network", "uts", "pid", "ipc"]
    assert linux["cgroupsPath"] == "/cove/x"
    assert linux["maskedPaths"] == list(DEFAULT_MASKED_PATHS)
    assert linux["readonlyPaths"] == list(DEFAULT_READONLY_PATHS)
    assert linux["sysctl"] == {
        "net.ipv4.ip_unprivileged_port_start": "0",
        "net.ipv4.ping_group_range": "0 2147483647",
    }
    assert linux["resources"]["devices"][0] == {"allow": False, "access": "rwm"}
    m = mounts_by_dest(cfg)
    assert list(m) == [
        "/proc",
        "/dev",
        "/dev/pts",
        "/sys",
        "/sys/fs/cgroup",
        "/dev/mqueue",
        "/dev/shm",
    ]
    assert m["/dev/pts"]["options"] == [
        "rw",
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
        "gid=5",
    ]
    assert "size=67108864" in m["/dev/shm"]["options"]
    assert "ro" in m["/sys"]["options"] and "ro" in m["/sys/fs/cgroup"]["options"]


def test_tty_env_and_home() -> None:
    p = build_config(spec(tty=True, home="/root", env=["PATH=/x", "TERM=dumb"]))["process"]
    assert p["terminal"] is True
    assert p["env"] == ["PATH=/x", "HOSTNAME=abc", "TERM=dumb", "HOME=/root"]
    p = build_config(spec(tty=True, home="/root", env=["HOME=/h"]))["process"]
    assert p["env"][-2:] == ["TERM=xterm", "HOME=/h"]


def test_merge_env_replaces_appends_and_removes() -> None:
    assert merge_env(["A=1", "B=2"], ["B=3", "C=4", "A", "C=5"]) == ["B=3", "C=5"]
    assert process_env([], "h", False) == [f"PATH={DEFAULT_PATH}", "HOSTNAME=h"]


def test_user_and_nonroot_caps() -> None:
    p = build_config(spec(uid=1000, gid=1000, additional_gids=[1000, 10]))["process"]
    assert p["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 10]}
    assert p["capabilities"] == {"bounding": list(DEFAULT_CAPS)}


def test_host_namespaces_and_joined_ones() -> None:
    cfg = build_config(spec(network="host", pid="host", ipc="host", uts="host"))
    assert cfg["linux"]["namespaces"] == [{"type": "mount"}]
    assert "hostname" not in cfg
    assert "sysctl" not in cfg["linux"]
    shm = mounts_by_dest(cfg)["/dev/shm"]
    assert shm["type"] == "bind" and shm["source"] == "/dev/shm"
    cfg = build_config(spec(network="/proc/42/ns/net", ipc="/proc/42/ns/ipc"))
    ns = {n["type"]: n for n in cfg["linux"]["namespaces"]}
    assert ns["network"] == {"type": "network", "path": "/proc/42/ns/net"}
    assert ns["ipc"] == {"type": "ipc", "path": "/proc/42/ns/ipc"}
    with pytest.raises(InvalidArgument):
        build_config(spec(network="bridge"))


def test_privileged_gets_every_host_cap_and_no_masks() -> None:
    cfg = build_config(spec(privileged=True, host_caps=HOST))
    caps = cfg["process"]["capabilities"]["bounding"]
    assert len(caps) == 40 and "CAP_SYS_RESOURCE" not in caps
    assert cfg["linux"]["maskedPaths"] == [] and cfg["linux"]["readonlyPaths"] == []
    assert cfg["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    m = mounts_by_dest(cfg)
    assert "ro" not in m["/sys"]["options"] and "rw" in m["/sys/fs/cgroup"]["options"]


def test_rlimits_are_clamped_to_host_ceilings() -> None:
    ceilings = {"RLIMIT_NOFILE": 20000, "RLIMIT_NPROC": -1, "RLIMIT_CORE": 0}
    cfg = build_config(spec(host_rlimits=ceilings, ulimits=[("nproc", 100, -1), ("core", -1, -1)]))
    got = {r["type"]: (r["soft"], r["hard"]) for r in cfg["process"]["rlimits"]}
    assert got == {
        "RLIMIT_NOFILE": (20000, 20000),
        "RLIMIT_NPROC": (100, RLIM_INFINITY),
        "RLIMIT_CORE": (0, 0),
    }
    cfg = build_config(spec(host_rlimits=ceilings, ulimits=[("nofile", 1024, 4096)]))
    assert cfg["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1024}]
    with pytest.raises(InvalidArgument):
        build_config(spec(ulimits=[("bogus", 1, 1)]))
    with pytest.raises(InvalidArgument):
        build_config(spec(ulimits=[("nofile", 10, 5)]))


def test_user_mounts_replace_defaults_and_sort_by_depth() -> None:
    user = [
        {"destination": "/data/sub", "type": "bind", "source": "/a", "options": ["rbind"]},
        {"destination": "/dev/shm", "type": "bind", "source": "/s", "options": ["rbind"]},
        {"destination": "/etc/hosts", "type": "bind", "source": "/h", "options": ["rbind"]},
        {"destination": "/data", "type": "bind", "source": "/b", "options": ["rbind"]},
    ]
    cfg = build_config(spec(mounts=user))
    dests = [m["destination"] for m in cfg["mounts"]]
    assert dests == [
        "/proc",
        "/dev",
        "/dev/pts",
        "/sys",
        "/sys/fs/cgroup",
        "/dev/mqueue",
        "/data",
        "/data/sub",
        "/dev/shm",
        "/etc/hosts",  # stable sort by depth
    ]
    assert mounts_by_dest(cfg)["/dev/shm"]["source"] == "/s"
    cfg = build_config(spec(mounts=[{"destination": "/dev", "type": "bind", "source": "/d"}]))
    assert [m["destination"] for m in cfg["mounts"]] == [
        "/proc",
        "/sys",
        "/sys/fs/cgroup",
        "/dev",
    ]


def test_readonly_rootfs() -> None:
    cfg = build_config(spec(readonly_rootfs=True, privileged=True))
    assert cfg["root"]["readonly"] is True
    m = mounts_by_dest(cfg)
    assert m["/sys"]["options"][0] == "ro" and "rw" not in m["/sys"]["options"]
    assert "ro" not in m["/dev/shm"]["options"] and "ro" not in m["/proc"]["options"]


def test_extras_pass_through() -> None:
    cfg = build_config(
        spec(
            annotations={"a": "b"},
            sysctls={"net.ipv4.ping_group_range": "1 1", "kernel.msgmax": "1"},
            no_new_privileges=True,
            oom_score_adj=500,
            resources={"memory": {"limit": 1 << 20}, "devices": "ignored"},
            device_cgroup_rules=[{"allow": True, "type": "c", "major": 4, "access": "rw"}],
            tty=True,
            console_size=(24, 80),
            domainname="example.org",
        )
    )
    assert cfg["annotations"] == {"a": "b"}
    assert cfg["linux"]["sysctl"]["net.ipv4.ping_group_range"] == "1 1"
    assert cfg["linux"]["sysctl"]["kernel.msgmax"] == "1"
    assert cfg["process"]["noNewPrivileges"] is True
    assert cfg["process"]["oomScoreAdj"] == 500
    assert cfg["process"]["consoleSize"] == {"height": 24, "width": 80}
    assert cfg["linux"]["resources"]["memory"] == {"limit": 1 << 20}
    devices = cfg["linux"]["resources"]["devices"]
    assert devices[8] == {"allow": True, "type": "c", "major": 4, "access": "rw"}
    assert devices[9] == {"allow": True, "type": "c", "access": "m"}  # runc's, after the user's
    assert cfg["domainname"] == "example.org"


def test_no_command() -> None:
    with pytest.raises(InvalidArgument):
        build_config(spec(args=[]))


def test_exec_process() -> None:
    s = spec(
        env=["A=1"],
        cwd="/w",
        uid=5,
        gid=6,
        additional_gids=[6],
        host_caps=HOST,
        host_rlimits={"RLIMIT_NOFILE": 20000},
        tty=True,
        console_size=(1, 2),
    )
    p = build_exec_process(s, ["ls", "-l"], env=["B=2", "A=3"])
    assert p["args"] == ["ls", "-l"] and p["cwd"] == "/w" and p["terminal"] is False
    assert p["env"] == [f"PATH={DEFAULT_PATH}", "HOSTNAME=abc", "A=3", "B=2"]
    assert p["user"] == {"uid": 5, "gid": 6, "additionalGids": [6]}
    assert p["capabilities"] == {"bounding": list(DEFAULT_CAPS)}
    assert p["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 20000, "soft": 20000}]
    assert "consoleSize" not in p
    p = build_exec_process(
        s, ["sh"], cwd="/tmp", user=(0, 0, [0]), tty=True, privileged=True, console_size=(3, 4)
    )
    assert p["terminal"] is True and p["cwd"] == "/tmp"
    assert "TERM=xterm" in p["env"]
    assert p["user"] == {"uid": 0, "gid": 0, "additionalGids": [0]}
    assert len(p["capabilities"]["effective"]) == 40
    assert p["consoleSize"] == {"height": 3, "width": 4}
    with pytest.raises(InvalidArgument):
        build_exec_process(s, [])
