"""ConmonRuntime against the real crun and conmon: lifecycle, logs, attach, exec."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
from collections.abc import Coroutine
from typing import Any

import pytest

from cove.errors import NotFound, SystemError_
from cove.oci.spec import build_exec_process
from cove.runtime.base import IOConfig, ProcessInfo
from cove.runtime.conmon import OUTPUT_PIPE, ConmonRuntime
from cove.util.streams import STDERR, STDOUT, AttachSession
from tests.integration.runtime.conftest import RuntimeEnv

pytestmark = pytest.mark.integration


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 30))


async def create(
    env: RuntimeEnv, cid: str, args: list[str], io: IOConfig, **kw: Any
) -> ProcessInfo:
    info = await env.rt.create(cid, env.bundle(cid, args, **kw), io)
    env.monitors.append(info.monitor_pid)
    return info


async def read_all(session: AttachSession) -> tuple[bytes, bytes]:
    out, err = b"", b""
    while (chunk := await session.read()) is not None:
        if chunk.stream == STDERR:
            err += chunk.data
        else:
            assert chunk.stream == STDOUT
            out += chunk.data
    return out, err


async def finish(env: RuntimeEnv, cid: str, info: ProcessInfo) -> int | None:
    await env.rt.wait_exit(info.monitor_pid)
    code = env.rt.exit_code(cid)
    await env.rt.delete(cid)
    return code


def log_lines(path: str) -> list[tuple[str, str]]:
    with open(path) as f:
        return [(ln.split(" ", 3)[1], ln.split(" ", 3)[3].rstrip("\n")) for ln in f]


def test_echo_logs_and_exit_code(rtenv: RuntimeEnv) -> None:
    async def body() -> None:
        log = os.path.join(rtenv.root, "c1.log")
        info = await create(
            rtenv, "c1", ["sh", "-c", "echo hello; echo oops >&2"], IOConfig(log_path=log)
        )
        assert info.pid > 0 and info.monitor_pid > 0 and info.pid_start > 0
        assert rtenv.rt.exit_code("c1") is None
        await rtenv.rt.start("c1")
        assert await finish(rtenv, "c1", info) == 0
        assert log_lines(log) == [("stdout", "hello"), ("stderr", "oops")]

    run(body())


def test_exit_code_three(rtenv: RuntimeEnv) -> None:
    async def body() -> None:
        info = await create(rtenv, "c3", ["sh", "-c", "exit 3"], IOConfig())
        await rtenv.rt.start("c3")
        assert await finish(rtenv, "c3", info) == 3

    run(body())


def pipe_size(pid: int, fd: int) -> int:
    n = os.open(f"/proc/{pid}/fd/{fd}", os.O_RDONLY | os.O_NONBLOCK)
    try:
        return fcntl.fcntl(n, fcntl.F_GETPIPE_SZ)
    finally:
        os.close(n)


def test_stdout_and_stderr_pipes_take_a_mib(rtenv: RuntimeEnv) -> None:
    """A fast writer fills conmon's 64 KiB pipes at once: cove widens them at create, and
    what goes through them arrives whole."""

    async def body() -> None:
        log = os.path.join(rtenv.root, "cw.log")
        script = "head -c 3000000 /dev/zero | tr '\\0' a; echo; echo done >&2"
        info = await create(rtenv, "cw", ["sh", "-c", script], IOConfig(log_path=log))
        assert pipe_size(info.pid, 1) == OUTPUT_PIPE == 1 << 20
        assert pipe_size(info.pid, 2) == OUTPUT_PIPE
        await rtenv.rt.start("cw")
        assert await finish(rtenv, "cw", info) == 0
        with open(log, "rb") as f:
            records = f.read().split(b"\n")
        out = b"".join(r.split(b" ", 3)[3] for r in records if b" stdout " in r)
        assert out == b"a" * 3000000
        assert any(r.endswith(b" stderr F done") for r in records)

    run(body())


def test_missing_command_names_it_and_leaves_nothing(rtenv: RuntimeEnv) -> None:
    async def body() -> None:
        bundle = rtenv.bundle("cmiss", ["no-such-command", "x"])
        with pytest.raises(SystemError_) as exc:
            await rtenv.rt.create("cmiss", bundle, IOConfig())
        assert exc.value.message.startswith("OCI runtime create failed: ")
        assert "no-such-command" in exc.value.message
        assert "not found" in exc.value.message
        assert rtenv.listed() == []
        assert await rtenv.rt.state("cmiss") is None

    run(body())


def test_state_transitions_kill_and_wait(rtenv: RuntimeEnv) -> None:
    async def body() -> None:
        rt = rtenv.rt
        assert await rt.state("cs") is None
        info = await create(rtenv, "cs", ["sleep", "1000"], IOConfig())
        assert await rt.state("cs") == "created"
        await rt.start("cs")
        assert await rt.state("cs") == "running"
        assert rt.exit_code("cs") is None
        waiter = asyncio.ensure_future(rt.wait_exit(info.monitor_pid))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        await rt.kill("cs", signal.SIGKILL)
        await waiter
        assert await rt.state("cs") == "stopped"
        assert rt.exit_code("cs") == 128 + signal.SIGKILL
        await rt.kill("cs", signal.SIGKILL)  # already stopped: no error
        await rt.kill("cs", signal.SIGKILL, all_processes=True)
        await rt.wait_exit(info.monitor_pid)  # already gone: returns at once
        await rt.delete("cs")
        await rt.delete("cs")  # idempotent
        await rt.delete("cs", force=True)
        assert await rt.state("cs") is None
        await rt.kill("cs", signal.SIGTERM)  # unknown: no error either

    run(body())


def test_attach_before_start_separates_streams(rtenv: RuntimeEnv) -> None:
    async def body() -> None:
        info = await create(
            rtenv, "ca", ["sh", "-c", "echo out; echo err >&2; echo out2"], IOConfig()
        )
        session = await rtenv.rt.attach("ca", tty=False)
        await rtenv.rt.start("ca")
        out, err = await read_all(session)
        await session.close()
        assert (out, err) == (b"out\nout2\n", b"err\n")
        assert await finish(rtenv, "ca", info) == 0

    run(body())


def test_stdin_through_attach_closes_at_half_close(rtenv: RuntimeEnv) -> None:
    async def body() -> None:
        io = IOConfig(stdin=True, stdin_once=True)
        info = await create(rtenv, "ci", ["cat"], io)
        session = await rtenv.rt.attach("ci", tty=False)
        await rtenv.rt.start("ci")
        payload = b"line one\n" + b"x" * 100_000 + b"\nend\n"
        await session.write(payload)
        await session.close_stdin()
        out, err = await read_all(session)
        await session.close()
        assert out == payload and err == b""
        assert await finish(rtenv, "ci", info) == 0

    run(body())


def test_tty_session_and_resize(rtenv: RuntimeEnv) -> None:
    async def body() -> None:
        io = IOConfig(tty=True, stdin=True, stdin_once=True)
        info = await create(rtenv, "ct", ["sh"], io, tty=True)
        session = await rtenv.rt.attach("ct", tty=True)
        assert session.tty
        await rtenv.rt.start("ct")
        await rtenv.rt.resize("ct", 33, 111)
        await asyncio.sleep(0.1)
        await session.write(b"stty size; tty; echo $TERM; exit 5\n")
        out, err = await read_all(session)
        await session.close()
        text = out.decode()
        assert err == b""
        assert "33 111" in text
        assert "/dev/pts/0" in text and "xterm" in text
        assert "\r\n" in text  # a pty's output
        assert await finish(rtenv, "ct", info) == 5

    run(body())


def test_user_nobody_and_docker_defaults(rtenv: RuntimeEnv) -> None:
    async def body() -> None:
        log = os.path.join(rtenv.root, "cu.log")
        script = "id; ulimit -n; grep CapEff /proc/self/status; hostname; echo $HOME"
        info = await create(rtenv, "cu", ["sh", "-c", script], IOConfig(log_path=log))
        await rtenv.rt.start("cu")
        assert await finish(rtenv, "cu", info) == 0
        lines = [text for _, text in log_lines(log)]
        nofile = rtenv.facts.rlimits.get("RLIMIT_NOFILE", -1)
        want_nofile = 1048576 if nofile < 0 else min(1048576, nofile)
        assert lines == [
            "uid=0(root) gid=0(root) groups=0(root),10(wheel)",
            str(want_nofile),
            "CapEff:\t00000000a80425fb",  # Docker's default set
            "cu",
            "/root",
        ]
        log2 = os.path.join(rtenv.root, "cn.log")
        info = await create(
            rtenv, "cn", ["sh", "-c", "id; echo $HOME"], IOConfig(log_path=log2), user="nobody"
        )
        await rtenv.rt.start("cn")
        assert await finish(rtenv, "cn", info) == 0
        assert [t for _, t in log_lines(log2)] == [
            "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)",
            "/home",
        ]

    run(body())


def test_privileged_is_clamped_to_host(rtenv: RuntimeEnv) -> None:
    async def body() -> None:
        log = os.path.join(rtenv.root, "cp.log")
        info = await create(
            rtenv,
            "cp",
            ["grep", "CapEff", "/proc/self/status"],
            IOConfig(log_path=log),
            privileged=True,
        )
        await rtenv.rt.start("cp")
        assert await finish(rtenv, "cp", info) == 0
        with open("/proc/self/status") as f:
            host = next(ln for ln in f if ln.startswith("CapBnd:")).split()[1]
        assert log_lines(log) == [("stdout", f"CapEff:\t{host}")]

    run(body())


async def _running(env: RuntimeEnv, cid: str) -> ProcessInfo:
    info = await create(env, cid, ["sleep", "1000"], IOConfig())
    await env.rt.start(cid)
    return info


async def _stop(env: RuntimeEnv, cid: str, info: ProcessInfo) -> None:
    await env.rt.kill(cid, signal.SIGKILL)
    await finish(env, cid, info)


def test_exec_with_attach(rtenv: RuntimeEnv) -> None:
    async def body() -> None:
        info = await _running(rtenv, "ce")
        spec = rtenv.spec("ce", ["sleep", "1000"])
        proc = build_exec_process(spec, ["sh", "-c", "echo hi; echo oops >&2; exit 4"])
        xinfo, session = await rtenv.rt.exec("ce", "x1", proc, IOConfig(), True)
        rtenv.monitors.append(xinfo.monitor_pid)
        assert session is not None and xinfo.pid > 0
        out, err = await read_all(session)
        await session.close()
        assert (out, err) == (b"hi\n", b"oops\n")
        await rtenv.rt.wait_exit(xinfo.monitor_pid)
        assert rtenv.rt.exec_exit_code("x1") == 4
        rtenv.rt.cleanup_exec("x1")
        assert not os.path.exists(os.path.join(rtenv.rt.execs_dir, "x1"))
        await _stop(rtenv, "ce", info)

    run(body())


def test_exec_stdin_tty_detached_and_missing(rtenv: RuntimeEnv) -> None:
    async def body() -> None:
        rt = rtenv.rt
        info = await _running(rtenv, "cx")
        spec = rtenv.spec("cx", ["sleep", "1000"])

        proc = build_exec_process(spec, ["cat"])
        io = IOConfig(stdin=True, stdin_once=True)
        xinfo, session = await rt.exec("cx", "in", proc, io, True)
        rtenv.monitors.append(xinfo.monitor_pid)
        assert session is not None
        await session.write(b"echo me\n")
        await session.close_stdin()
        assert await read_all(session) == (b"echo me\n", b"")
        await session.close()
        await rt.wait_exit(xinfo.monitor_pid)
        assert rt.exec_exit_code("in") == 0
        rt.cleanup_exec("in")

        proc = build_exec_process(spec, ["sh", "-c", "tty; echo $TERM; exit 2"], tty=True)
        xinfo, session = await rt.exec("cx", "tty", proc, IOConfig(tty=True), True)
        rtenv.monitors.append(xinfo.monitor_pid)
        assert session is not None
        out, _ = await read_all(session)
        await session.close()
        assert b"/dev/pts/" in out and b"xterm" in out
        await rt.wait_exit(xinfo.monitor_pid)
        assert rt.exec_exit_code("tty") == 2
        rt.cleanup_exec("tty")

        proc = build_exec_process(spec, ["sh", "-c", "exit 6"], user=(65534, 65534, []))
        xinfo, session = await rt.exec("cx", "det", proc, IOConfig(), False)
        rtenv.monitors.append(xinfo.monitor_pid)
        assert session is None
        await rt.wait_exit(xinfo.monitor_pid)
        assert rt.exec_exit_code("det") == 6
        rt.cleanup_exec("det")

        proc = build_exec_process(spec, ["no-such-exec"])
        with pytest.raises(SystemError_) as exc:
            await rt.exec("cx", "bad", proc, IOConfig(), True)
        assert "no-such-exec" in exc.value.message
        assert not os.path.exists(os.path.join(rt.execs_dir, "bad"))

        await _stop(rtenv, "cx", info)

    run(body())


def test_a_new_runtime_instance_finds_running_containers(rtenv: RuntimeEnv) -> None:
    """What a daemon restart looks like: no in-memory record, the runtime is the truth."""

    async def body() -> None:
        io = IOConfig(tty=True, stdin=True)
        info = await create(rtenv, "cr", ["sh"], io, tty=True)
        await rtenv.rt.start("cr")
        fresh = ConmonRuntime(
            rtenv.rt.runtime_path,
            rtenv.rt.conmon_path,
            state_root=rtenv.rt.state_root,
            exec_root=rtenv.rt.exec_root,
        )
        assert fresh.bundle_of("cr") is None
        assert await fresh.state("cr") == "running"
        await fresh.resize("cr", 40, 120)
        session = await fresh.attach("cr", tty=True)
        await asyncio.sleep(0.1)
        await session.write(b"stty size; exit 7\n")
        out, _ = await read_all(session)
        await session.close()
        assert b"40 120" in out
        await fresh.wait_exit(info.monitor_pid)
        assert fresh.exit_code("cr") == 7
        await fresh.delete("cr")
        assert await fresh.state("cr") is None
        with pytest.raises(NotFound):
            await fresh.attach("cr", tty=True)

    run(body())
