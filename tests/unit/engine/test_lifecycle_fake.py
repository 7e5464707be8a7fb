"""Lifecycle rules of the real engine over cove.testing's fakes: no root, no crun, no netns.

Each test builds an engine in its own temporary directory (FakeRuntime, MemorySnapshotter,
FakeNetworking) and drives container processes by hand: ``runtime.exit(cid, code)`` is the
process ending.  Waits for the engine's own tasks are bounded (``settle``), never timed.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from cove.engine.core import Engine
from cove.engine.state import Status
from cove.errors import Conflict, CoveError, NotModified, SystemError_
from cove.testing.engine import TestEngine, test_engine

Scenario = Callable[[TestEngine], Awaitable[None]]


def run(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        te = test_engine(str(tmp_path))
        try:
            await scenario(te)
        finally:
            te.close()

    asyncio.run(main())


def actions(eng: Engine, cid: str) -> list[str]:
    return [e["Action"] for e in eng.bus.recent() if e["Actor"]["ID"] == cid]


async def settle(cond: Callable[[], bool], steps: int = 500) -> None:
    """Let the engine's tasks run until ``cond`` holds (at most ``steps`` short sleeps)."""
    for _ in range(steps):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the engine did not get there")


async def started(te: TestEngine, name: str = "web", **host: object) -> str:
    cid, _ = await te.engine.container_create(
        name, {"Image": "busybox", "Cmd": ["sleep", "9"], "HostConfig": dict(host)}
    )
    await te.engine.container_start(cid)
    return cid


# --- the exit/sync race (issue 16) --------------------------------------------------------
def test_exit_seen_first_by_ps_is_still_recorded(tmp_path: Path) -> None:
    """ps/inspect between the process' exit and the watcher's turn must not swallow the
    exit: the die event, the release of the network and a waiting stop all still happen."""

    async def scenario(te: TestEngine) -> None:
        eng, rt = te.engine, te.runtime
        cid = await started(te)
        rt.ignored.add(signal.SIGTERM)
        stop = asyncio.ensure_future(eng.container_stop(cid, 30, None))
        await settle(lambda: ("kill", cid) in rt.calls)
        rt.exit(cid, 3)
        listed = eng.container_list(True, 0, False, {})  # before the watcher has run
        assert listed[0]["State"] == "exited"
        assert eng.container_inspect(cid)["State"]["ExitCode"] == 3
        await asyncio.wait_for(stop, 5)
        c = eng.find(cid)
        assert c.status == Status.EXITED and c.state["ExitCode"] == 3
        assert c.state["FinishedAt"] != "0001-01-01T00:00:00Z"
        assert actions(eng, cid)[-2:] == ["die", "stop"]
        assert cid not in te.net.held and ("release", cid) in te.net.calls

    run(tmp_path, scenario)


# --- failed starts leave nothing behind ---------------------------------------------------
def test_failed_runtime_create_releases_network(tmp_path: Path) -> None:
    async def scenario(te: TestEngine) -> None:
        eng, rt = te.engine, te.runtime
        cid, _ = await eng.container_create("web", {"Image": "busybox", "Cmd": ["nosuch"]})
        rt.fail["create"] = 'exec: "nosuch": executable file not found in $PATH'
        with pytest.raises(SystemError_) as e:
            await eng.container_start(cid)
        assert "executable file not found" in e.value.message
        c = eng.find(cid)
        assert c.status == Status.CREATED
        assert c.state["ExitCode"] == 127 and "nosuch" in c.state["Error"]
        assert te.net.calls == [("prepare", cid), ("release", cid)] and not te.net.held
        assert "start" not in actions(eng, cid)
        await eng.container_start(cid)  # nothing left over stops a second try
        assert eng.find(cid).status == Status.RUNNING

    run(tmp_path, scenario)


def test_failed_attach_kills_and_forgets_the_task(tmp_path: Path) -> None:
    async def scenario(te: TestEngine) -> None:
        eng, rt = te.engine, te.runtime
        cid, _ = await eng.container_create("web", {"Image": "busybox"})
        te.net.fail["attach"] = SystemError_("veth: no space")
        with pytest.raises(SystemError_):
            await eng.container_start(cid)
        assert eng.find(cid).status == Status.CREATED
        assert [n for n, i in rt.calls if i == cid] == ["create", "kill", "delete"]
        assert cid not in rt.containers and not te.net.held
        assert ("release", cid) in te.net.calls

    run(tmp_path, scenario)


def test_autoremove_container_whose_start_fails_is_removed(tmp_path: Path) -> None:
    async def scenario(te: TestEngine) -> None:
        eng, rt = te.engine, te.runtime
        cid, _ = await eng.container_create(
            "web", {"Image": "busybox", "HostConfig": {"AutoRemove": True}}
        )
        rt.fail["create"] = "boom"
        with pytest.raises(SystemError_):
            await eng.container_start(cid)
        assert cid not in eng.containers and "web" not in eng.names
        assert cid not in te.snapshotter.container_ids()

    run(tmp_path, scenario)


# --- transitions refused with Docker's words ----------------------------------------------
def test_invalid_transitions(tmp_path: Path) -> None:
    async def scenario(te: TestEngine) -> None:
        eng = te.engine
        cid, _ = await eng.container_create("web", {"Image": "busybox"})
        with pytest.raises(NotModified):
            await eng.container_stop(cid, 1, None)
        with pytest.raises(Conflict, match="is not running"):
            await eng.container_kill(cid, None)
        with pytest.raises(Conflict, match="is not running"):
            await eng.container_pause(cid)
        await eng.container_start(cid)
        with pytest.raises(NotModified):
            await eng.container_start(cid)
        with pytest.raises(Conflict, match="container is running"):
            await eng.container_remove(cid, False, False)
        await eng.container_pause(cid)
        with pytest.raises(Conflict, match="paused"):
            await eng.container_start(cid)
        with pytest.raises(Conflict, match="is already paused"):
            await eng.container_pause(cid)
        await eng.container_unpause(cid)
        with pytest.raises(Conflict, match="is not paused"):
            await eng.container_unpause(cid)

    run(tmp_path, scenario)


# --- stop / kill / remove ordering --------------------------------------------------------
def test_stop_escalates_to_sigkill_after_the_timeout(tmp_path: Path) -> None:
    async def scenario(te: TestEngine) -> None:
        eng, rt = te.engine, te.runtime
        cid = await started(te)
        rt.ignored.add(signal.SIGTERM)
        await eng.container_stop(cid, 0, None)
        assert eng.find(cid).state["ExitCode"] == 137
        kills = [e["Actor"]["Attributes"]["signal"] for e in eng.bus.recent()
                 if e["Action"] == "kill"]  # fmt: skip
        assert kills == ["15", "9"]
        assert actions(eng, cid)[-3:] == ["kill", "die", "stop"]

    run(tmp_path, scenario)


def test_force_remove_kills_then_deletes_then_destroys(tmp_path: Path) -> None:
    async def scenario(te: TestEngine) -> None:
        eng, rt = te.engine, te.runtime
        cid = await started(te)
        await eng.container_remove(cid, True, False)
        assert actions(eng, cid)[-3:] == ["kill", "die", "destroy"]
        mine = [n for n, i in rt.calls if i == cid]
        assert mine.index("kill") < mine.index("delete")
        assert cid not in eng.containers and cid not in te.snapshotter.container_ids()
        assert not te.net.held

    run(tmp_path, scenario)


def test_wait_next_exit_and_removed(tmp_path: Path) -> None:
    async def scenario(te: TestEngine) -> None:
        eng, rt = te.engine, te.runtime
        cid = await started(te)
        nxt = asyncio.ensure_future(eng.container_wait(cid, "next-exit"))
        gone = asyncio.ensure_future(eng.container_wait(cid, "removed"))
        await asyncio.sleep(0)
        rt.exit(cid, 7)
        assert (await asyncio.wait_for(nxt, 5))["StatusCode"] == 7
        assert not gone.done()
        await eng.container_remove(cid, False, False)
        assert (await asyncio.wait_for(gone, 5))["StatusCode"] == 7

    run(tmp_path, scenario)


# --- restart policies and back-off --------------------------------------------------------
def test_on_failure_restarts_up_to_its_limit(tmp_path: Path) -> None:
    async def scenario(te: TestEngine) -> None:
        eng, rt = te.engine, te.runtime
        cid = await started(te, RestartPolicy={"Name": "on-failure", "MaximumRetryCount": 2})
        c = eng.find(cid)
        delays = []
        for n in (1, 2):
            rt.exit(cid, 1)
            await settle(lambda: c.status == Status.RESTARTING)
            delays.append(c.restart_delay)
            await settle(lambda n=n: c.status == Status.RUNNING and c.data["RestartCount"] == n)
        assert delays == [0.1, 0.2]  # doubles from 100 ms
        rt.exit(cid, 1)
        await settle(lambda: c.status == Status.EXITED)
        await asyncio.sleep(0.3)  # past the next back-off: no third restart
        assert c.status == Status.EXITED and c.data["RestartCount"] == 2

    run(tmp_path, scenario)


def test_on_failure_does_not_restart_a_clean_exit_or_a_user_stop(tmp_path: Path) -> None:
    async def scenario(te: TestEngine) -> None:
        eng, rt = te.engine, te.runtime
        cid = await started(te, RestartPolicy={"Name": "on-failure"})
        rt.exit(cid, 0)
        await settle(lambda: eng.find(cid).status == Status.EXITED)
        other = await started(te, "db", RestartPolicy={"Name": "always"})
        await eng.container_stop(other, 1, None)
        await asyncio.sleep(0.2)
        assert eng.find(cid).status == Status.EXITED
        assert eng.find(other).status == Status.EXITED
        assert eng.find(other).data["RestartCount"] == 0

    run(tmp_path, scenario)


def test_stop_while_restarting_cancels_the_restart(tmp_path: Path) -> None:
    async def scenario(te: TestEngine) -> None:
        eng, rt = te.engine, te.runtime
        cid = await started(te, RestartPolicy={"Name": "always"})
        c = eng.find(cid)
        c.restart_delay = 30.0  # a long back-off, as after many restarts
        c.state["StartedAt"] = "2000-01-01T00:00:00Z"  # it ran long: back to 100 ms...
        c.restart_delay = 0.05  # ...unless it failed fast: use a short one
        c.state["StartedAt"] = c.state["FinishedAt"]
        rt.exit(cid, 2)
        await settle(lambda: c.status == Status.RESTARTING)
        await eng.container_stop(cid, 1, None)
        assert c.status == Status.EXITED and not c.state["Restarting"]
        await asyncio.sleep(0.3)
        assert c.status == Status.EXITED and c.data.get("RestartCount", 0) == 0

    run(tmp_path, scenario)


# --- health -------------------------------------------------------------------------------
def test_health_becomes_healthy_after_a_passing_probe(tmp_path: Path) -> None:
    async def scenario(te: TestEngine) -> None:
        eng = te.engine
        hc = {"Test": ["CMD", "true"], "Interval": 20_000_000, "Retries": 1}
        cid, _ = await eng.container_create("web", {"Image": "busybox", "Healthcheck": hc})
        await eng.container_start(cid)
        c = eng.find(cid)
        assert c.state["Health"]["Status"] == "starting"
        await settle(lambda: c.state["Health"]["Status"] == "healthy")
        assert c.state["Health"]["FailingStreak"] == 0
        assert "health_status: healthy" in actions(eng, cid)
        await eng.container_stop(cid, 1, None)

    run(tmp_path, scenario)


def test_runtime_errors_are_cove_errors(tmp_path: Path) -> None:
    async def scenario(te: TestEngine) -> None:
        te.runtime.fail["start"] = "start failed"
        cid, _ = await te.engine.container_create("web", {"Image": "busybox"})
        with pytest.raises(CoveError):
            await te.engine.container_start(cid)
        assert te.engine.find(cid).status == Status.CREATED and not te.net.held

    run(tmp_path, scenario)


def test_boot_start_of_a_restarting_container_starts_it_once(tmp_path: Path) -> None:
    """The restore's exit schedules a restart; the daemon's boot start takes it over
    (under the lock) instead of racing its timer into a second start."""

    async def scenario(te: TestEngine) -> None:
        eng, rt = te.engine, te.runtime
        cid = await started(te, RestartPolicy={"Name": "always"})
        c = eng.find(cid)
        rt.exit(cid, 1)
        await settle(lambda: c.status == Status.RESTARTING)
        await eng.container_service.restarts.restart_on_boot()
        await asyncio.sleep(0.3)  # past the timer's delay
        assert c.status == Status.RUNNING
        assert [n for n, i in rt.calls if i == cid].count("create") == 2
        assert c.data.get("RestartCount", 0) == 0

    run(tmp_path, scenario)
