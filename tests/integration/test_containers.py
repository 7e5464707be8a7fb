"""Real containers under a real coved, driven through the cove CLI as a user would."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.integration


def test_run_rm_echo(daemon: Daemon) -> None:
    r = daemon.cove("run", "--rm", "busybox", "echo", "hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello\n"
    assert daemon.cove("ps", "-aq").stdout.strip() == ""


def test_exit_codes(daemon: Daemon) -> None:
    assert daemon.cove("run", "--rm", "busybox", "sh", "-c", "exit 3").returncode == 3
    r = daemon.cove("run", "--rm", "busybox", "no-such-command")
    assert r.returncode == 127, r.stderr
    assert "no-such-command" in r.stderr
    r = daemon.cove("run", "--rm", "busybox", "/etc")
    assert r.returncode == 126, r.stderr
    r = daemon.cove("run", "--rm", "no-such-image")
    assert r.returncode == 125
    assert "no-such-image" in r.stderr


def test_stdout_stderr_and_stdin(daemon: Daemon) -> None:
    r = daemon.cove("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert r.stdout == "out\n"
    assert r.stderr == "err\n"
    r = daemon.cove("run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z", input=b"shout\n")
    assert r.stdout == "SHOUT\n"


def test_detached_lifecycle(daemon: Daemon) -> None:
    r = daemon.cove(
        "run", "-d", "--name", "web", "busybox", "sh", "-c", "echo started; exec sleep 1000"
    )
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert len(cid) == 64
    try:
        ps = daemon.cove("ps").stdout
        assert "web" in ps and cid[:12] in ps and "Up " in ps
        for _ in range(50):
            if "started" in daemon.cove("logs", "web").stdout:
                break
            time.sleep(0.1)
        assert daemon.cove("logs", "web").stdout == "started\n"
        info = json.loads(daemon.cove("inspect", "web").stdout)[0]
        assert info["State"]["Running"] is True
        assert info["Name"] == "/web"
        pid = info["State"]["Pid"]
        assert os.path.exists(f"/proc/{pid}")
        r = daemon.cove("exec", "web", "sh", "-c", "echo $HOSTNAME; id -u")
        assert r.stdout.split() == [cid[:12], "0"]
        assert daemon.cove("exec", "-u", "nobody", "web", "id", "-u").stdout.strip() == "65534"
        assert daemon.cove("exec", "web", "sh", "-c", "exit 7").returncode == 7
        # an exec that cannot start is 126 whether the command is missing or not (dockerd)
        r = daemon.cove("exec", "web", "no-such-cmd")
        assert r.returncode == 126 and "no-such-cmd" in r.stdout + r.stderr, r.stderr
        assert daemon.cove("exec", "web", "/etc").returncode == 126
        # a name already in use
        r = daemon.cove("run", "-d", "--name", "web", "busybox", "true")
        assert r.returncode == 125 and 'The container name "/web" is already in use' in r.stderr
        # rm of a running container without -f
        r = daemon.cove("rm", "web")
        assert r.returncode == 1 and "container is running" in r.stderr
        t0 = time.time()
        assert daemon.cove("stop", "-t", "1", "web").returncode == 0
        assert time.time() - t0 < 10
        info = json.loads(daemon.cove("inspect", "web").stdout)[0]
        assert info["State"]["Status"] == "exited"
        assert info["State"]["ExitCode"] == 137 or info["State"]["ExitCode"] == 143
        r = daemon.cove("exec", "web", "true")
        assert r.returncode != 0 and "is not running" in r.stderr
        assert "Exited (" in daemon.cove("ps", "-a").stdout
    finally:
        daemon.cove("rm", "-f", "web")
    assert daemon.cove("inspect", "web").returncode == 1


def test_env_workdir_user_entrypoint_hostname(daemon: Daemon) -> None:
    r = daemon.cove(
        "run",
        "--rm",
        "-e",
        "A=1",
        "--env",
        "B=two",
        "-w",
        "/tmp/work",
        "-u",
        "nobody",
        "-h",
        "box",
        "busybox",
        "sh",
        "-c",
        "echo $A $B $(pwd) $(id -u) $(hostname)",
    )
    assert r.stdout.split() == ["1", "two", "/tmp/work", "65534", "box"], r.stderr
    r = daemon.cove("run", "--rm", "--entrypoint", "echo", "busybox", "via", "entrypoint")
    assert r.stdout == "via entrypoint\n"


def test_kill_and_wait(daemon: Daemon) -> None:
    # PID 1 only sees signals it handles, so the container traps TERM
    cid = daemon.cove(
        "run", "-d", "busybox", "sh", "-c", "trap 'exit 5' TERM; while true; do sleep 0.1; done"
    ).stdout.strip()
    try:
        time.sleep(0.3)
        assert daemon.cove("kill", "-s", "TERM", cid).returncode == 0
        assert daemon.cove("wait", cid).stdout.strip() == "5"
        cid2 = daemon.cove("run", "-d", "busybox", "sleep", "1000").stdout.strip()
        assert daemon.cove("kill", cid2).returncode == 0
        assert daemon.cove("wait", cid2).stdout.strip() == str(128 + signal.SIGKILL)
        daemon.cove("rm", cid2)
    finally:
        daemon.cove("rm", "-f", cid)


def test_logs_tail_and_timestamps(daemon: Daemon) -> None:
    cid = daemon.cove("run", "-d", "busybox", "sh", "-c", "for i in 1 2 3 4 5; do echo $i; done")
    cid_s = cid.stdout.strip()
    try:
        daemon.cove("wait", cid_s)
        assert daemon.cove("logs", "--tail", "2", cid_s).stdout == "4\n5\n"
        line = daemon.cove("logs", "-t", "--tail", "1", cid_s).stdout
        stamp, text = line.split(" ", 1)
        assert stamp.endswith("Z") and "T" in stamp and text == "5\n"
    finally:
        daemon.cove("rm", "-f", cid_s)


def test_network_none_and_host(daemon: Daemon) -> None:
    r = daemon.cove("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link")
    assert r.returncode == 0
    links = [ln.split(":")[1].strip() for ln in r.stdout.splitlines()]
    assert links == ["lo"]
    # other processes (parallel tests, helpers) add and remove links on the host while the
    # container runs: a link present both before and after must be seen, one present in
    # neither must not (a private namespace, or a wrong one, would fail either way)
    before = set(os.listdir("/sys/class/net"))
    r = daemon.cove("run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net")
    after = set(os.listdir("/sys/class/net"))
    assert r.returncode == 0
    seen = set(r.stdout.split())
    assert (before & after) - {"lo"}, "the host has links besides lo"
    assert before & after <= seen <= before | after


def test_bad_flag(daemon: Daemon) -> None:
    r = daemon.cove("run", "--bogus", "busybox")
    assert r.returncode == 125
    assert "unknown flag: --bogus" in r.stderr
    assert "Traceback" not in r.stderr


def test_images_tag_rmi(daemon: Daemon) -> None:
    assert daemon.cove("tag", "busybox", "mybox:1").returncode == 0
    assert "mybox" in daemon.cove("images").stdout
    r = daemon.cove("rmi", "mybox:1")
    assert r.returncode == 0 and "Untagged: mybox:1" in r.stdout
    r = daemon.cove("rmi", "nothere")
    assert r.returncode == 1 and "No such image" in r.stderr


def test_logs_follow_ends_with_the_container(daemon: Daemon) -> None:
    import subprocess

    from tests.daemon_fixture import tool

    cid = daemon.cove("run", "-d", "busybox", "sh", "-c", "echo a; exec sleep 1000").stdout
    cid = cid.strip()
    p = subprocess.Popen([tool("cove"), "logs", "-f", cid], stdout=subprocess.PIPE, env=daemon.env)
    try:
        time.sleep(0.5)
        daemon.cove("rm", "-f", cid)
        out, _ = p.communicate(timeout=10)
    finally:
        p.kill()
    assert out == b"a\n"
