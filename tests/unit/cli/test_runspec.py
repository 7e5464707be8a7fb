"""The create body built from run/create flags, shaped like docker 28's."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cove.cli.flags import parse
from cove.cli.runflags import run_flags
from cove.cli.runparse import parse_mount, parse_publish, parse_ulimit, restart_policy
from cove.cli.runspec import build


def body(*argv: str, detach: bool | None = None) -> dict[str, Any]:
    opts, args = parse(run_flags(), list(argv), interspersed=False)
    if detach is None:
        detach = opts.on("detach")
    return build(opts, args[0], args[1:], detach=detach).body


def test_plain_run() -> None:
    b = body("busybox")
    assert b["Image"] == "busybox" and b["Cmd"] is None and b["Env"] is None
    assert (b["AttachStdin"], b["AttachStdout"], b["AttachStderr"]) == (False, True, True)
    assert b["Volumes"] == {} and b["Labels"] == {} and "ExposedPorts" not in b
    hc = b["HostConfig"]
    assert hc["NetworkMode"] == "default" and hc["AutoRemove"] is False
    assert hc["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert hc["MemorySwappiness"] == -1 and hc["Binds"] is None
    assert list(b["NetworkingConfig"]["EndpointsConfig"]) == ["default"]


def test_command_stops_flag_parsing() -> None:
    b = body("-it", "--rm", "busybox", "sh", "-c", "ls -la", "--rm")
    assert b["Cmd"] == ["sh", "-c", "ls -la", "--rm"]
    assert b["Tty"] and b["OpenStdin"] and b["StdinOnce"] and b["AttachStdin"]
    assert b["HostConfig"]["AutoRemove"]


def test_detach_clears_attach() -> None:
    b = body("-d", "-i", "busybox")
    assert (b["AttachStdin"], b["AttachStdout"], b["AttachStderr"], b["StdinOnce"]) == (
        False, False, False, False
    )  # fmt: skip
    assert b["OpenStdin"]


def test_common_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_HOST", "h")
    monkeypatch.delenv("NOT_SET", raising=False)
    b = body(
        "-e", "A=1", "-eFROM_HOST", "-e", "NOT_SET", "-w", "/tmp", "-u", "0", "-h", "hh",
        "-l", "x=y", "-l", "flag", "-v", "/tmp:/data:ro", "-v", "/vol", "-p", "8080:80",
        "-p", "53/udp", "--name", "n", "--entrypoint", "", "busybox", "true",
    )  # fmt: skip
    assert b["Env"] == ["A=1", "FROM_HOST=h", "NOT_SET"]
    assert (b["WorkingDir"], b["User"], b["Hostname"]) == ("/tmp", "0", "hh")
    assert b["Labels"] == {"x": "y", "flag": ""}
    assert b["Volumes"] == {"/vol": {}}
    assert b["HostConfig"]["Binds"] == ["/tmp:/data:ro"]
    assert b["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert b["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "", "HostPort": ""}],
    }
    assert b["Entrypoint"] == [""]


def test_resources_and_host_options() -> None:
    b = body(
        "-m", "512m", "--cpus", "1.5", "--restart", "on-failure:3", "--dns", "1.2.3.4",
        "--add-host", "a:1.2.3.4", "--ulimit", "nofile=100:200", "--tmpfs", "/t:size=1m",
        "--mount", "type=bind,src=/tmp,dst=/m,readonly", "--cap-add", "net_admin",
        "--network", "none", "--init", "--shm-size", "64m", "--sysctl", "net.a.b=1",
        "--stop-signal", "SIGINT", "--stop-timeout", "5", "--health-cmd", "true",
        "--log-driver", "json-file", "--log-opt", "max-size=1m", "busybox",
    )  # fmt: skip
    hc = b["HostConfig"]
    assert hc["Memory"] == 512 << 20 and hc["NanoCpus"] == 1_500_000_000
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert hc["Dns"] == ["1.2.3.4"] and hc["ExtraHosts"] == ["a:1.2.3.4"]
    assert hc["Ulimits"] == [{"Name": "nofile", "Hard": 200, "Soft": 100}]
    assert hc["Tmpfs"] == {"/t": "size=1m"} and hc["ShmSize"] == 64 << 20
    assert hc["Mounts"] == [{"Type": "bind", "Source": "/tmp", "Target": "/m", "ReadOnly": True}]
    assert hc["CapAdd"] == ["CAP_NET_ADMIN"] and hc["Init"] is True
    assert hc["Sysctls"] == {"net.a.b": "1"}
    assert hc["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
    assert b["NetworkingConfig"] == {"EndpointsConfig": {}}
    assert b["StopSignal"] == "SIGINT" and b["StopTimeout"] == 5
    assert b["Healthcheck"] == {"Test": ["CMD-SHELL", "true"]}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rm", "--restart", "always", "busybox"], "conflicting options"),
        (["-p", "abc", "busybox"], "invalid containerPort: abc"),
        (["--network-alias", "x", "busybox"], "only supported for user-defined networks"),
        (
            ["--log-driver", "none", "--log-opt", "max-size=1m", "busybox"],
            "^invalid logging opts for driver none$",
        ),
        (["--pid", "container:", "busybox"], "^--pid: invalid PID mode$"),
        (["--uts", "container:x", "busybox"], "^--uts: invalid UTS mode$"),
        (["--userns", "private", "busybox"], "^--userns: invalid USER mode$"),
        (["--cgroupns", "HOST", "busybox"], "^--cgroupns: invalid CGROUP mode$"),
    ],
)
def test_rejections(argv: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        body(*argv)


def test_publish_forms() -> None:
    assert parse_publish("80") == [("80/tcp", "", "")]
    assert parse_publish("127.0.0.1:8080:80/udp") == [("80/udp", "127.0.0.1", "8080")]
    assert parse_publish("[::1]:8080:80") == [("80/tcp", "::1", "8080")]
    assert parse_publish("8080-8081:80-81") == [("80/tcp", "", "8080"), ("81/tcp", "", "8081")]
    assert parse_publish("127.0.0.1::80") == [("80/tcp", "127.0.0.1", "")]


def test_small_parsers() -> None:
    assert parse_ulimit("nproc=5") == {"Name": "nproc", "Hard": 5, "Soft": 5}
    assert restart_policy("always") == {"Name": "always", "MaximumRetryCount": 0}
    with pytest.raises(ValueError):
        restart_policy("always:3")
    m = parse_mount("type=tmpfs,target=/t,tmpfs-size=1m")
    assert m == {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1 << 20}}
    with pytest.raises(ValueError, match="target is required"):
        parse_mount("type=bind,src=/a")


def test_security_opts_as_the_docker_cli_sends_them(tmp_path: Any) -> None:
    from cove.cli.secopts import security_opts

    prof = tmp_path / "p.json"
    prof.write_text('{\n  "defaultAction": "SCMP_ACT_ALLOW"\n}\n')
    opts, unconfined = security_opts(
        [f"seccomp={prof}", "no-new-privileges", "systempaths=unconfined", "label:disable"]
    )
    assert opts == ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}', "no-new-privileges",
                    "label:disable"]  # fmt: skip
    assert unconfined
    assert security_opts(["seccomp=unconfined"]) == (["seccomp=unconfined"], False)
    cases = [("bogus", 'Invalid --security-opt: "bogus"'),
             ("seccomp=/nonexist.json", "opening seccomp profile (/nonexist.json)")]  # fmt: skip
    for bad, words in cases:
        with pytest.raises(ValueError, match=re.escape(words)):
            security_opts([bad])


def test_sysctl_and_cgroup_rule_flags_checked() -> None:
    from cove.cli.secopts import check_cgroup_rule, check_sysctl

    check_sysctl("net.ipv4.ip_forward=1")
    check_sysctl("kernel.shmmax=1")
    for bad in ("kernel.foo=1", "vm.swappiness=1", "net.ipv4.ip_forward"):
        with pytest.raises(ValueError, match=f"sysctl '{bad}' is not allowed"):
            check_sysctl(bad)
    check_cgroup_rule("c 1:3 rwm")
    with pytest.raises(ValueError, match="invalid device cgroup format 'c 1:3'"):
        check_cgroup_rule("c 1:3")
