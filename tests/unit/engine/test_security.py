"""--security-opt, --sysctl and device rules as dockerd parses and refuses them."""

from __future__ import annotations

from typing import Any

import pytest

from cove.engine.containers import security
from cove.errors import InvalidArgument
from cove.oci.spec import DEFAULT_MASKED_PATHS


def test_security_opts_parsed_as_dockerd() -> None:
    o = security.parse_opts(
        ["no-new-privileges", "seccomp=unconfined", "apparmor=foo", "label=disable", "disable"]
    )
    assert o.no_new_privileges is True
    assert o.seccomp == "unconfined" and o.apparmor == "foo"
    assert o.labels == ["disable", "disable"]
    assert security.parse_opts(["no-new-privileges=false"]).no_new_privileges is False
    assert security.parse_opts(["no-new-privileges:true"]).no_new_privileges is True
    assert security.parse_opts(["seccomp:unconfined"]).seccomp == "unconfined"
    assert security.parse_opts([]).no_new_privileges is None


@pytest.mark.parametrize(
    ("opt", "words"),
    [("bogus", 'invalid --security-opt 1: "bogus"'),
     ("seccomp", 'invalid --security-opt 1: "seccomp"'),
     ("bogus=1", 'invalid --security-opt 2: "bogus=1"'),
     ("no-new-privileges=maybe", 'invalid --security-opt 2: "no-new-privileges=maybe"'),
     ("systempaths=unconfined", 'invalid --security-opt 2: "systempaths=unconfined"')],
)  # fmt: skip
def test_bad_security_opts(opt: str, words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        security.parse_opts([opt])


def test_check_fills_paths_and_keeps_apparmor() -> None:
    hc: dict[str, Any] = {"SecurityOpt": ["apparmor=unconfined"]}
    assert security.check(hc, "builtin") == "unconfined"
    assert hc["MaskedPaths"] == list(DEFAULT_MASKED_PATHS)
    priv: dict[str, Any] = {"Privileged": True}
    security.check(priv, "builtin")
    assert priv.get("MaskedPaths") is None
    with pytest.raises(InvalidArgument, match="Decoding seccomp profile failed"):
        security.check({"SecurityOpt": ["seccomp={bad"]}, "builtin")


@pytest.mark.parametrize(
    ("hc", "words"),
    [({"Sysctls": {"kernel.foo": "1"}}, 'sysctl "kernel.foo" is not in a separate kernel'),
     ({"Sysctls": {"vm.swappiness": "1"}}, 'sysctl "vm.swappiness" is not in a separate'),
     ({"NetworkMode": "host", "Sysctls": {"net.ipv4.ip_forward": "1"}},
      'sysctl "net.ipv4.ip_forward" not allowed in host network namespace'),
     ({"IpcMode": "host", "Sysctls": {"kernel.shmmax": "1"}},
      'sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace'),
     ({"UTSMode": "host", "Sysctls": {"kernel.domainname": "x"}},
      'sysctl "kernel.domainname" is not allowed in the hosts uts namespace')],
)  # fmt: skip
def test_sysctls_refused(hc: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        security.check_sysctls(hc)


def test_sysctls_allowed() -> None:
    security.check_sysctls(
        {"Sysctls": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "1", "kernel.sem": "1 2 3 4",
                     "fs.mqueue.msg_max": "20", "kernel.domainname": "x", "kernel.msgmax": "9"},
         "NetworkMode": "none"}
    )  # fmt: skip


def test_device_cgroup_rules() -> None:
    assert security.cgroup_rule("c 1:3 rwm") == {
        "allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"
    }  # fmt: skip
    assert security.cgroup_rule("a *:* m") == {"allow": True, "type": "a", "access": "m"}
    for bad in ("x 1:3 rwm", "c 1:3", "c 1:3 rwq", "c a:3 rwm"):
        with pytest.raises(InvalidArgument, match=f"invalid device cgroup rule format: '{bad}'"):
            security.cgroup_rule(bad)


def test_user_devices() -> None:
    devs, rules = security.user_devices(
        {"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull",
                      "CgroupPermissions": "rw"}]}
    )  # fmt: skip
    assert devs[0]["path"] == "/dev/mynull" and (devs[0]["major"], devs[0]["minor"]) == (1, 3)
    assert rules == [{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}]
    with pytest.raises(InvalidArgument, match='adding custom device "/dev/nonexist": no such'):
        security.user_devices({"Devices": [{"PathOnHost": "/dev/nonexist"}]})
    with pytest.raises(InvalidArgument, match="bad mode specified: rwz"):
        security.user_devices(
            {"Devices": [{"PathOnHost": "/dev/null", "CgroupPermissions": "rwz"}]}
        )
