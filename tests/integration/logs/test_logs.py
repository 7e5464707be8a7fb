"""Logging drivers against real containers: caps on disk, rotation, compression, reading
back across generations, following through rotations, syslog, refusals, daemon defaults.

Every writer is bounded by construction (``head -c``, counted loops); big files are made
directly in the driver's format and deleted afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import tempfile
import time

import pytest

from cove.logdriver import files
from tests.daemon_fixture import Daemon, running_daemon, tool

pytestmark = pytest.mark.integration

MiB = 1 << 20


def cid_of(d: Daemon, name: str) -> str:
    return d.cove("inspect", "-f", "{{.Id}}", name, check=True).stdout.strip()


def log_path(d: Daemon, name: str) -> str:
    """``LogPath``: Docker's ``<id>-json.log`` for json-file, conmon's ``container.log``
    for the other drivers."""
    return str(d.cove("inspect", "-f", "{{.LogPath}}", name, check=True).stdout.strip())


def wait_exit(d: Daemon, name: str, timeout: float = 120) -> None:
    d.cove("wait", name, timeout=timeout, check=True)


def settled(path: str, timeout: float = 20) -> list[str]:
    """The log's files once the keeper has moved and compressed what it had waiting."""
    deadline = time.time() + timeout
    while True:
        names = os.listdir(os.path.dirname(path))
        busy = [n for n in names if ".pending." in n or n.endswith(".gz.tmp")]
        if not busy or time.time() > deadline:
            return sorted(n for n in names if n.startswith(os.path.basename(path)))
        time.sleep(0.1)


def paced(count: int) -> str:
    """``seq 1 count`` in bursts of 1000 lines (about 44 kB of log) with a pause between:
    the keeper links each new file within a few milliseconds, and a writer that makes
    files faster than that loses generations (docs/logging.md), which is not tested here."""
    return (
        f"i=0; while [ $i -lt {count // 1000} ]; do seq $((i*1000+1)) $((i*1000+1000)); "
        "i=$((i+1)); sleep 0.03; done"
    )


def numbers(text: str) -> list[int]:
    return [int(x) for x in text.split()]


def test_cap_holds_disk_and_logs_show_the_tail(daemon: Daemon) -> None:
    line = "x" * 199
    cmd = f"yes {line} | head -c 200000000; echo END"
    name = "log-cap"
    daemon.cove(
        "run", "-d", "--name", name, "--log-opt", "max-size=10m", "--log-opt", "max-file=2",
        "busybox", "sh", "-c", cmd, check=True,
    )  # fmt: skip
    try:
        wait_exit(daemon, name, timeout=300)
        path = log_path(daemon, name)
        settled(path)
        used = files.disk_usage(path)
        assert used <= 21 * MiB, used  # 200 MB written, two files of 10 MB kept
        out = daemon.cove("logs", "--tail", "2", name, check=True).stdout
        assert out.splitlines()[-1].endswith("END"), out[-300:]
        assert len(out) < 1000
        everything = subprocess.run(
            [tool("cove"), "logs", name], env=daemon.env, capture_output=True, timeout=120
        )
        # a full rotated generation (10 MiB of records) and the live file, without headers
        assert 8 * MiB < len(everything.stdout) < 20 * MiB
    finally:
        daemon.cove("rm", "-f", name)


def test_tail_of_a_1gb_log(daemon: Daemon) -> None:
    name = "log-big"
    daemon.cove("create", "--name", name, "busybox", "true", check=True)
    path = log_path(daemon, name)
    assert path.endswith("-json.log")
    line = b'{"log":"%s\\n","stream":"stdout","time":"2026-01-01T00:00:00.000000001Z"}\n'
    block = b"".join(line % (b"%0060d" % i) for i in range(10000))  # about 1 MB
    try:
        with open(path, "wb") as f:
            for _ in range(1024):
                f.write(block)
            f.write(b"".join(line % (b"last%d" % i) for i in range(5)))
        assert os.path.getsize(path) > 1_000_000_000
        r = daemon.cove("logs", "--tail", "5", name, check=True)
        assert r.stdout == "".join(f"last{i}\n" for i in range(5))
        r = daemon.cove("logs", "-n", "1", "-t", name, check=True)
        assert r.stdout == "2026-01-01T00:00:00.000000001Z last4\n"
        assert daemon.ping()
    finally:
        os.unlink(path)
        daemon.cove("rm", "-f", name)


def test_follow_through_rotations(daemon: Daemon) -> None:
    name = "log-follow"
    count = 20000
    script = (
        f"sleep 1; i=0; while [ $i -lt {count} ]; do echo $i; i=$((i+1)); "
        "[ $((i % 500)) -eq 0 ] && sleep 0.05; done; true"
    )
    daemon.cove(
        "run", "-d", "--name", name, "--log-opt", "max-size=80k", "--log-opt", "max-file=2",
        "busybox", "sh", "-c", script, check=True,
    )  # fmt: skip
    try:
        r = subprocess.run(
            [tool("cove"), "logs", "-f", name], env=daemon.env, capture_output=True, timeout=120
        )
        assert numbers(r.stdout.decode()) == list(range(count))  # nothing lost, in order
        path = log_path(daemon, name)
        settled(path)
        assert files.disk_usage(path) < 300 * 1024  # while the follower saw every line
        kept = numbers(daemon.cove("logs", name, check=True).stdout)
        assert kept == list(range(kept[0], count)) and kept[0] > 0
    finally:
        daemon.cove("rm", "-f", name)


def test_local_driver_compresses_rotated_files(daemon: Daemon) -> None:
    name = "log-local"
    daemon.cove(
        "run", "-d", "--name", name, "--log-driver", "local", "--log-opt", "max-size=100k",
        "busybox", "sh", "-c", paced(100000), check=True,
    )  # fmt: skip
    try:
        wait_exit(daemon, name)
        path = log_path(daemon, name)
        kept = settled(path)
        assert "container.log.1.gz" in kept and "container.log.4.gz" in kept, kept
        assert not [n for n in kept if n.endswith((".5", ".5.gz"))], kept  # max-file 5
        got = numbers(daemon.cove("logs", name, check=True).stdout)
        assert got == list(range(got[0], 100001)) and got[0] > 1
        assert daemon.cove("logs", "--tail", "3", name).stdout == "99998\n99999\n100000\n"
        # a tail longer than the live file reaches into the compressed generations
        tail = numbers(daemon.cove("logs", "--tail", "5000", name, check=True).stdout)
        assert tail == list(range(95001, 100001))
        info = json.loads(daemon.cove("inspect", name, check=True).stdout)[0]
        assert info["HostConfig"]["LogConfig"] == {"Type": "local", "Config": {"max-size": "100k"}}
    finally:
        daemon.cove("rm", "-f", name)


def test_json_file_compress_option(daemon: Daemon) -> None:
    name = "log-gz"
    daemon.cove(
        "run", "-d", "--name", name, "--log-opt", "max-size=50k", "--log-opt", "max-file=3",
        "--log-opt", "compress=true", "busybox", "sh", "-c", paced(30000), check=True,
    )  # fmt: skip
    try:
        wait_exit(daemon, name)
        path = log_path(daemon, name)
        kept, base = settled(path), os.path.basename(path)
        assert kept == [base, f"{base}.1.gz", f"{base}.2.gz"], kept
        got = numbers(daemon.cove("logs", name, check=True).stdout)
        assert got == list(range(got[0], 30001))
    finally:
        daemon.cove("rm", "-f", name)


def test_none_driver(daemon: Daemon) -> None:
    name = "log-none"
    r = daemon.cove("run", "--name", name, "--log-driver", "none", "busybox", "echo", "hi")
    try:
        assert r.stdout == "hi\n"  # attached output does not need a log
        r = daemon.cove("logs", name)
        assert r.returncode != 0
        assert "configured logging driver does not support reading" in r.stderr
    finally:
        daemon.cove("rm", "-f", name)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--log-opt", "foo=1"], "unknown log opt 'foo' for json-file log driver"),
        (["--log-driver", "bogus"], 'logging plugin bogus: plugin "bogus" not found'),
        (["--log-driver", "local", "--log-opt", "labels=x"], "'labels' for log driver local"),
        (["--log-opt", "max-size=abc"], "invalid size: 'abc'"),
        (["--log-opt", "max-file=0"], "max-file cannot be less than 1"),
        (["--log-driver", "syslog", "--log-opt", "syslog-address=bad://x"], "proto://address"),
        (["--log-driver", "journald"], "journald is not enabled on this host"),
    ],
)  # fmt: skip
def test_refused(daemon: Daemon, args: list[str], message: str) -> None:
    if "journald" in args and files.journal_running():
        pytest.skip("a journal runs here")
    r = daemon.cove("run", "--rm", *args, "busybox", "true")
    assert r.returncode == 125
    assert message in r.stderr, r.stderr


def test_syslog_udp_and_unix(daemon: Daemon) -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(20)
    tmp = tempfile.mkdtemp(prefix="cove-syslog-")
    unix_path = os.path.join(tmp, "log.sock")
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    unix.bind(unix_path)
    unix.settimeout(20)
    try:
        port = udp.getsockname()[1]
        daemon.cove(
            "run", "--name", "log-syslog", "--log-driver", "syslog",
            "--log-opt", f"syslog-address=udp://127.0.0.1:{port}",
            "--log-opt", "syslog-format=rfc5424", "--log-opt", "tag=web",
            "busybox", "sh", "-c", "echo hello; echo oops >&2", check=True,
        )  # fmt: skip
        got = sorted(udp.recv(4096) for _ in range(2))
        assert got[0].startswith(b"<27>1 ") and got[0].endswith(b" web - oops"), got
        assert got[1].startswith(b"<30>1 ") and got[1].endswith(b" web - hello"), got
        # the local copy still answers logs, as dockerd's dual logging does
        assert daemon.cove("logs", "log-syslog").stdout == "hello\n"
        daemon.cove(
            "run", "--rm", "--log-driver", "syslog", "--log-opt", f"syslog-address=unix://{unix_path}",
            "--log-opt", "syslog-facility=local0", "busybox", "echo", "via unix", check=True,
        )  # fmt: skip
        msg = unix.recv(4096)
        assert msg.startswith(b"<134>") and msg.endswith(b"]: via unix"), msg
    finally:
        daemon.cove("rm", "-f", "log-syslog")
        udp.close()
        unix.close()
        subprocess.run(["rm", "-rf", tmp])


def test_daemon_defaults() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    config = {"log-driver": "local", "log-opts": {"max-size": "1m", "max-file": "2"}}
    with running_daemon(config=config) as d:
        d.cove("create", "--name", "dflt", "busybox", "true", check=True)
        d.cove(
            "create", "--name", "mine", "--log-driver", "json-file", "busybox", "true", check=True
        )
        d.cove("create", "--name", "part", "--log-opt", "max-file=3", "busybox", "true", check=True)
        shown = {
            n: json.loads(d.cove("inspect", "-f", "{{json .HostConfig.LogConfig}}", n).stdout)
            for n in ("dflt", "mine", "part")
        }
        assert shown["dflt"] == {"Type": "local", "Config": config["log-opts"]}
        assert shown["mine"] == {"Type": "json-file", "Config": {}}
        assert shown["part"] == {"Type": "local", "Config": {"max-size": "1m", "max-file": "3"}}
    bad = {"log-opts": {"nope": "1"}}
    with pytest.raises(RuntimeError, match="unknown log opt 'nope'"), running_daemon(False, bad):
        pass


def test_logs_keep_flowing_while_coved_is_down() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    import signal

    with running_daemon() as d:
        script = "i=0; while [ $i -lt 60 ]; do echo $i; i=$((i+1)); sleep 0.05; done"
        d.cove("run", "-d", "--name", "writer", "--log-opt", "max-size=1k", "--log-opt",
               "max-file=100", "busybox", "sh", "-c", script, check=True)  # fmt: skip
        time.sleep(0.5)
        path = log_path(d, "writer")
        d.stop(signal.SIGKILL)
        before = _all_json_lines(path)
        time.sleep(2)  # the writer goes on: conmon writes, the keeper converts and rotates
        after = _all_json_lines(path)  # Docker's lines, written while coved is down
        assert before and after and all(o["stream"] == "stdout" for o in after)
        assert int(after[-1]["log"]) > int(before[-1]["log"])
        d.start()
        wait_exit(d, "writer")
        got = numbers(d.cove("logs", "writer", check=True).stdout)
        assert got == list(range(60))  # nothing lost, rotations while coved was away included
        control = os.path.join(d.data_root, "log-keeper")
    # the keeper process ends with its control directory (the fixture removed it)
    deadline = time.time() + 5
    while time.time() < deadline and _keepers(control):
        time.sleep(0.1)
    assert not _keepers(control)


def _keepers(control: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
            if control.encode() in f.read():
                found.append(pid)
    return found


def test_restart_appends_a_run(daemon: Daemon) -> None:
    name = "log-again"
    daemon.cove("run", "--name", name, "busybox", "echo", "run", check=True)
    try:
        daemon.cove("start", "-a", name, check=True)
        assert daemon.cove("logs", name, check=True).stdout == "run\nrun\n"  # each run once
    finally:
        daemon.cove("rm", "-f", name)


# --- json-file in Docker's on-disk format --------------------------------------------------


def _json_lines(path: str) -> list[dict[str, str]]:
    with open(path, "rb") as f:
        return [json.loads(x) for x in f.read().splitlines()]


def _all_json_lines(path: str) -> list[dict[str, str]]:
    """Every plain file of the log, oldest first (a name that moved meanwhile is skipped)."""
    out = []
    for name, gz in [*files.readable(path), (path, False)]:
        with contextlib.suppress(FileNotFoundError):
            if not gz:
                out += _json_lines(name)
    return out


def test_json_file_is_dockers_format(daemon: Daemon) -> None:
    name = "log-docker-format"
    script = (
        "echo out; echo err >&2; head -c 40000 /dev/zero | tr '\\0' x; echo; "
        "printf 'a\\tb<c>&\"\\\\ \\001\\377\\342\\200z \\303\\251\\n'; printf no-eol"
    )
    daemon.cove("run", "-d", "--name", name, "busybox", "sh", "-c", script, check=True)
    try:
        wait_exit(daemon, name)
        cid = cid_of(daemon, name)
        path = log_path(daemon, name)
        assert path == os.path.join(daemon.data_root, "containers", cid, f"{cid}-json.log")
        # logs of a stopped container waits for the keeper's last lines (as dockerd's
        # exit waits for its log copier); then the file is complete too
        assert daemon.cove("logs", name).stdout.endswith("no-eol")
        objs = _json_lines(path)
        for o in objs:
            assert list(o) == ["log", "stream", "time"], o
            assert o["time"].endswith("Z") and o["time"].startswith("20")
        assert [(o["stream"], o["log"]) for o in objs if not o["log"].startswith("xxx")] == [
            ("stdout", "out\n"),
            ("stderr", "err\n"),
            ("stdout", 'a\tb<c>&"\\ \x01\ufffd\ufffd\ufffdz \u00e9\n'),
            ("stdout", "no-eol"),
        ]
        # the long line in dockerd's 16 KiB pieces, each stamped with the line's first time
        long = [o for o in objs if o["log"].startswith("xxx")]
        assert [len(o["log"]) for o in long] == [16384, 16384, 40000 - 2 * 16384 + 1]
        assert len({o["time"] for o in long}) == 1
        with open(path, "rb") as f:
            raw = f.read()
        assert (
            b'"a\\u0009b\\u003cc\\u003e\\u0026\\"\\\\ \\u0001\\ufffd\\ufffd\\ufffdz \xc3\xa9\\n"'
            in raw
        )
        out = daemon.cove("logs", "--tail", "2", name, check=True)
        assert out.stdout.encode() == 'a\tb<c>&"\\ \x01\ufffd\ufffd\ufffdz \u00e9\nno-eol'.encode()
        stamped = daemon.cove("logs", "-t", "--tail", "1", name, check=True).stdout
        assert len(stamped.split(" ", 1)[0]) == 30 and stamped.endswith("Z no-eol")
    finally:
        daemon.cove("rm", "-f", name)


def test_json_file_rotation_of_a_bounded_flood(daemon: Daemon) -> None:
    name = "log-json-flood"
    daemon.cove(
        "run", "-d", "--name", name, "--log-opt", "max-size=1m", "--log-opt", "max-file=3",
        "--log-opt", "compress=true", "busybox", "sh", "-c",
        "yes 0123456789abcdef | head -c 29999985; echo END", check=True,
    )  # fmt: skip
    try:
        wait_exit(daemon, name, timeout=300)
        path = log_path(daemon, name)
        kept, base = settled(path), os.path.basename(path)
        assert kept == [base, f"{base}.1.gz", f"{base}.2.gz"], kept
        assert os.path.getsize(path) <= MiB + 200
        assert files.disk_usage(path) < 2 * MiB  # the rotated files are compressed
        assert daemon.cove("logs", "--tail", "1", name, check=True).stdout == "END\n"
        objs = _json_lines(path)
        assert {o["stream"] for o in objs} == {"stdout"}
        # every line whole (a line cut by conmon's reads is joined again), in order
        assert {o["log"] for o in objs[:-1]} == {"0123456789abcdef\n"}
        everything = daemon.cove("logs", name, check=True).stdout.splitlines()
        assert everything[-1] == "END" and set(everything[:-1]) == {"0123456789abcdef"}
        assert len(everything) > 3 * len(objs) - 1000  # the two rotated files are read too
    finally:
        daemon.cove("rm", "-f", name)


def _keeper_pids(d: Daemon) -> list[int]:
    return [int(p) for p in _keepers(os.path.join(d.data_root, "log-keeper"))]


def test_keeper_killed_and_started_again() -> None:
    """conmon must not die and the container must not hang when the keeper is gone: records
    written meanwhile are dropped (conmon ignores SIGPIPE), a new keeper takes the FIFO by
    its name and the log goes on."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    import signal

    with running_daemon() as d:
        script = "i=0; while [ $i -lt 100 ]; do echo $i; i=$((i+1)); sleep 0.05; done; echo END"
        d.cove("run", "-d", "--name", "writer2", "busybox", "sh", "-c", script, check=True)
        time.sleep(1)
        pids = _keeper_pids(d)
        assert pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        # a new container (or coved's own start) brings the keeper back
        d.cove("run", "--rm", "busybox", "true", check=True)
        assert _keeper_pids(d)
        wait_exit(d, "writer2", timeout=60)  # the container did not hang
        got = d.cove("logs", "writer2", check=True).stdout.split()
        assert got[-1] == "END"
        assert got[:-1] == sorted(got[:-1], key=int) and len(got) > 50
        # the monitor exited normally and recorded the exit code
        assert d.cove("inspect", "-f", "{{.State.ExitCode}}", "writer2").stdout.strip() == "0"
