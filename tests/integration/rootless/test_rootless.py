"""Rootless coved as regular users: containers, images, ports, networks, refusals and the
isolation between two users (issue 18).  Run as root only to make and remove the users."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import time
import urllib.request

import pytest

from tests.integration.rootless.conftest import (
    COVE,
    COVED,
    User,
    check_outbound,
    host_address,
    registry_address,
)

pytestmark = pytest.mark.integration


def _get(url: str) -> str:
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return str(r.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_root_inside_is_the_user_outside(alice: User) -> None:
    out = alice.ok("run", "--rm", "busybox", "sh", "-c", "id -u; cat /proc/self/uid_map")
    lines = out.split("\n")
    assert lines[0] == "0"
    first = lines[1].split()
    assert first == ["0", str(alice.uid), "1"]
    assert lines[2].split() == ["1", str(alice.sub_start), "65536"]


def test_lifecycle_run_exec_logs_stop_rm(alice: User) -> None:
    alice.ok("run", "-d", "--name", "life", "busybox", "sh", "-c", "echo started; sleep 300")
    try:
        assert alice.ok("exec", "life", "id", "-u").strip() == "0"
        assert "started" in alice.ok("logs", "life")
        alice.ok("stop", "-t", "1", "life")
        state = json.loads(alice.ok("inspect", "life"))[0]["State"]
        assert state["Status"] == "exited"
    finally:
        alice.cove("rm", "-f", "life")
    assert alice.cove("inspect", "life").returncode != 0


def test_files_keep_their_owners_inside_and_map_outside(alice: User) -> None:
    ctx = os.path.join(alice.home, "ctx")
    alice.run("mkdir", "-p", ctx)
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write("FROM busybox\nRUN touch /f && chown 1234:5678 /f\n")
    alice.ok("build", "-q", "-t", "owned", ctx)
    assert alice.ok("run", "--rm", "owned", "stat", "-c", "%u:%g", "/f").strip() == "1234:5678"
    alice.ok("run", "--name", "mk", "busybox", "sh", "-c", "touch /g && chown 7:8 /g")
    alice.ok("commit", "mk", "committed")
    alice.ok("rm", "mk")
    assert alice.ok("run", "--rm", "committed", "stat", "-c", "%u:%g", "/g").strip() == "7:8"
    tar = os.path.join(alice.home, "owned.tar")
    alice.ok("save", "-o", tar, "owned")
    alice.ok("rmi", "owned")
    assert "Loaded image: owned:latest" in alice.ok("load", "-i", tar)
    assert alice.ok("run", "--rm", "owned", "stat", "-c", "%u", "/f").strip() == "1234"
    # on the host the file belongs to the user's subordinate range, never to a real user
    found = subprocess.run(["find", os.path.join(alice.home, ".local/share/cove"), "-name", "f",
                            "-uid", str(alice.sub_start + 1233)],
                           capture_output=True, text=True, check=False).stdout  # fmt: skip
    assert found.strip()


def test_published_port_and_outbound(alice: User) -> None:
    host = host_address()
    page = "echo hello-rootless > /i.html; httpd -f -p 80 -h /"
    alice.ok("run", "-d", "--name", "web", "-p", "18480:80", "-p", "127.0.0.1:18481:80",
             "busybox", "sh", "-c", page)  # fmt: skip
    try:
        assert _get("http://127.0.0.1:18480/i.html") == "hello-rootless\n"
        assert _get(f"http://{host}:18480/i.html") == "hello-rootless\n"
        assert _get("http://127.0.0.1:18481/i.html") == "hello-rootless\n"
        ports = alice.ok("port", "web")
        assert "80/tcp -> 0.0.0.0:18480" in ports and "127.0.0.1:18481" in ports
    finally:
        alice.cove("rm", "-f", "web")
    check_outbound(alice)


def test_low_port_refused_with_rootless_dockers_words(alice: User) -> None:
    r = alice.cove("run", "--rm", "-p", "80:80", "busybox", "true")
    assert r.returncode == 125
    assert "cannot expose privileged port 80, you can add " in r.stderr
    assert "'net.ipv4.ip_unprivileged_port_start=80' to /etc/sysctl.conf" in r.stderr


def test_user_network_dns_and_host_network(alice: User) -> None:
    alice.ok("network", "create", "rlnet")
    try:
        alice.ok("run", "-d", "--name", "srv", "--network", "rlnet", "busybox", "sleep", "300")
        out = alice.ok("run", "--rm", "--network", "rlnet", "busybox", "ping", "-c", "1", "srv")
        assert "1 packets received" in out
    finally:
        alice.cove("rm", "-f", "srv")
        alice.cove("network", "rm", "rlnet")
    # --network host is the daemon's namespace: the user-mode network's tap0, not the host's
    links = alice.ok("run", "--rm", "--network", "host", "busybox", "ip", "-o", "link")
    assert "tap0" in links


def test_refusals_and_warnings(alice: User) -> None:
    for driver in ("macvlan", "overlay"):
        r = alice.cove("network", "create", "-d", driver, "refused")
        assert r.returncode != 0
        assert f"the {driver} driver cannot be used in rootless mode" in r.stderr
    r = alice.cove("run", "--rm", "-m", "64m", "--pids-limit", "10", "busybox", "echo", "ran")
    assert r.returncode == 0 and r.stdout == "ran\n"
    assert ("WARNING: Your kernel does not support memory limit capabilities or the cgroup is "
            "not mounted. Limitation discarded.") in r.stderr  # fmt: skip
    assert "PIDs limit discarded." in r.stderr
    r = alice.cove("run", "--rm", "--cpus", "1", "busybox", "true")
    assert r.returncode == 125 and "NanoCPUs can not be set" in r.stderr
    info = json.loads(alice.ok("info", "--format", "{{json .}}"))
    assert "name=rootless" in info["SecurityOptions"]
    assert info["CgroupDriver"] == "none" and info["MemoryLimit"] is False
    if int(os.uname().release.split(".")[0]) >= 6:  # overlay in a user namespace: 5.11+
        assert info["Driver"] == "overlay2"
    assert any("Running in rootless-mode without cgroups" in w for w in info["Warnings"])
    # --privileged is root of the user's namespace only: the host's keyring stays out of reach
    out = alice.ok("run", "--rm", "--privileged", "busybox", "cat", "/proc/self/uid_map")
    assert out.split()[:2] == ["0", str(alice.uid)]


def test_stats_without_cgroups(alice: User) -> None:
    """No cgroup reaches a rootless daemon on a cgroup v1 host: stats answers as a rootless
    dockerd does there, the name and ID with every figure zero (no error, no hang)."""
    from cove.engine.containers.cgroupread import unified

    if unified():
        pytest.skip("a cgroup2 host: test_rootless_cgroup.py covers stats there")
    alice.ok("run", "-d", "--name", "counted", "busybox", "sleep", "300")
    try:
        row = json.loads(alice.ok("stats", "--no-stream", "--format", "{{json .}}", "counted"))
        want = ("counted", "0B / 0B", "0.00%", "0B / 0B", "0")
        assert (row["Name"], row["MemUsage"], row["CPUPerc"], row["NetIO"], row["PIDs"]) == want
        docker = shutil.which("docker")
        if docker is not None:  # the docker CLI's rendering of dockerd's empty sample
            r = alice.run(docker, "stats", "--no-stream", "--format", "{{json .}}", "counted",
                          timeout=60)  # fmt: skip
            assert json.loads(r.stdout) == row, r.stderr  # cove's row is the docker CLI's
            table = [alice.run(cli, "stats", "--no-stream", "counted", timeout=60).stdout
                     for cli in (COVE, docker)]  # fmt: skip
            assert table[0] == table[1] and "0.00%" in table[0]
        sock = alice.socket
        body = alice.run("curl", "-s", "--unix-socket", sock,
                         "http://d/containers/counted/stats?stream=false").stdout  # fmt: skip
        stats = json.loads(body)
        assert stats["id"] and stats["name"] == "/counted" and stats["memory_stats"] == {}
    finally:
        alice.cove("rm", "-f", "counted")


def test_two_users_are_isolated(alice: User, bob: User) -> None:
    alice.ok("run", "-d", "--name", "alices", "busybox", "sleep", "300")
    try:
        alice.ok("tag", "busybox", "alices-image")
        assert "alices" not in bob.ok("ps", "-a")
        assert "alices-image" not in bob.ok("images")
        r = bob.cove("-H", f"unix://{alice.socket}", "ps")
        assert r.returncode != 0
        assert bob.ok("run", "--rm", "busybox", "id", "-u").strip() == "0"
    finally:
        alice.cove("rm", "-f", "alices")
        alice.cove("rmi", "alices-image")


def test_no_subordinate_ids_names_the_fix(alice: User) -> None:
    # a user without ranges: the daemon refuses at once with the usermod command
    name = "covert3"
    subprocess.run(["userdel", "-r", name], capture_output=True, check=False)
    subprocess.run(["useradd", "-m", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name],
                   check=True, capture_output=True)  # fmt: skip
    try:
        pw = pwd.getpwnam(name)
        u = User(name, pw.pw_uid, pw.pw_gid, pw.pw_dir, 1 << 40)
        r = u.run(COVED, "--rootless", timeout=30)
        assert r.returncode == 1
        assert "usermod --add-subuids" in r.stderr and name in r.stderr
    finally:
        subprocess.run(["userdel", "-r", name], capture_output=True, check=False)
        subprocess.run(["rm", "-rf", f"/tmp/cove-{pw.pw_uid}"], check=False)


def test_docker_cli_and_docker_py(alice: User) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI")
    r = alice.run(docker, "run", "--rm", "busybox", "id", "-u")
    assert r.returncode == 0 and r.stdout.strip() == "0", r.stderr
    r = alice.run(docker, "info", "--format", "{{json .SecurityOptions}}")
    assert "name=rootless" in r.stdout
    script = (
        "import docker\n"
        "c = docker.from_env()\n"
        "print(c.containers.run('busybox', 'echo via-sdk', remove=True).decode(), end='')\n"
        "ct = c.containers.run('busybox', 'sleep 60', detach=True)\n"
        "print(ct.exec_run('id -u').output.decode(), end='')\n"
        "ct.remove(force=True)\n"
    )
    python = os.path.join(os.path.dirname(COVED), "python")
    r = alice.run(python, "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "via-sdk\n0\n"


def test_push_and_pull_through_a_registry_on_the_host(alice: User, tmp_path: str) -> None:
    registry = shutil.which("docker-registry")
    if registry is None:
        pytest.skip("no docker-registry (make deps-peers)")
    addr = registry_address()
    conf = os.path.join(str(tmp_path), "config.yml")
    with open(conf, "w") as f:
        f.write(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path}/data\n"
                f"http:\n  addr: {addr}\n")  # fmt: skip
    proc = subprocess.Popen([registry, "serve", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _get(f"http://{addr}/v2/")
        ref = f"{addr}/rootless/bb:1"
        alice.ok("tag", "busybox", ref)
        alice.ok("push", ref)
        alice.ok("rmi", ref)
        alice.ok("pull", ref)
        assert alice.ok("run", "--rm", ref, "echo", "pulled").strip() == "pulled"
        alice.ok("rmi", ref)
    finally:
        proc.terminate()
        proc.wait(10)


def test_containers_outlive_a_daemon_restart(alice: User) -> None:
    alice.ok("run", "-d", "--name", "lasting", "-p", "18490:80", "busybox",
             "sh", "-c", "echo still-here > /i.html; httpd -f -p 80 -h /")  # fmt: skip
    try:
        assert _get("http://127.0.0.1:18490/i.html") == "still-here\n"
        alice.stop()
        assert _get("http://127.0.0.1:18490/i.html") == "still-here\n"  # no daemon now
        alice.start(registry_address())  # joins the namespaces the holder kept
        state = json.loads(alice.ok("inspect", "lasting"))[0]["State"]
        assert state["Running"] is True
        assert alice.ok("exec", "lasting", "cat", "/i.html") == "still-here\n"
        assert _get("http://127.0.0.1:18490/i.html") == "still-here\n"
        alice.ok("restart", "-t", "1", "lasting")
        assert _get("http://127.0.0.1:18490/i.html") == "still-here\n"
    finally:
        alice.cove("rm", "-f", "lasting")
