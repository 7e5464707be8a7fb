"""The rotation keeper against conmon's way of capping a log (a fresh file renamed over
it), driven by hand in a temporary directory; and the syslog message shapes."""

from __future__ import annotations

import asyncio
import gzip
import os
from pathlib import Path

from cove.logdriver import files
from cove.logdriver.keeper import LogKeeper
from cove.logdriver.options import LogPlan
from cove.logdriver.syslog import expand_tag, format_message


def conmon_rotates(path: str, content: bytes) -> None:
    with open(path + ".tmp", "wb") as f:
        f.write(content)
    os.rename(path + ".tmp", path)


async def settle(keeper: LogKeeper) -> None:
    for _ in range(50):
        await asyncio.sleep(0.01)


def test_generations_kept_and_capped(tmp_path: Path) -> None:
    path = str(tmp_path / "container.log")

    async def scenario() -> None:
        keeper = LogKeeper()
        plan = LogPlan("json-file", max_size=10, max_file=3, compress=True)
        Path(path).write_bytes(b"old run")
        keeper.prepare(path, plan)  # a previous run's file becomes a generation
        Path(path).write_bytes(b"gen0")
        keeper.watch(path, plan)
        for i in range(1, 5):
            conmon_rotates(path, b"gen%d" % i)
            await settle(keeper)
        keeper.close()

    asyncio.run(scenario())
    kept = {k: gzip.decompress(Path(f).read_bytes()) for k, f, gz in files.generations(path)}
    assert kept == {1: b"gen3", 2: b"gen2"}  # max-file 3: the live file and two rotated
    assert Path(path).read_bytes() == b"gen4"
    assert os.stat(path).st_ino == os.stat(files.keep_name(path)).st_ino
    assert not [n for n in os.listdir(tmp_path) if ".pending." in n]
    # conmon's next file already has a name of its own
    assert os.readlink(path + ".tmp").startswith("container.log.gen.")


def test_generation_rotated_while_away_is_kept(tmp_path: Path) -> None:
    path = str(tmp_path / "container.log")

    async def scenario() -> None:
        plan = LogPlan("json-file", max_size=10, max_file=2)
        first = LogKeeper()
        Path(path).write_bytes(b"a")
        first.watch(path, plan)
        first.close()  # coved stops
        conmon_rotates(path, b"b")  # conmon goes on
        second = LogKeeper()
        second.watch(path, plan)
        await settle(second)
        second.close()

    asyncio.run(scenario())
    assert Path(path + ".1").read_bytes() == b"a"
    assert Path(path).read_bytes() == b"b"


def test_syslog_shapes() -> None:
    now = 1767225600.25  # 2026-01-01T00:00:00.25Z
    msg = format_message("rfc5424", 3, 1, "web", b"hello", now, 42, "h")
    assert msg == b"<30>1 2026-01-01T00:00:00Z h web 42 web - hello"
    micro = format_message("rfc5424micro", 3, 2, "web", b"x", now, 42, "h")
    assert micro.startswith(b"<27>1 2026-01-01T00:00:00.250000Z ")
    old = format_message("rfc3164", 16, 1, "t", b"x", now, 1, "h")
    assert old == b"<134>Jan  1 00:00:00 h t[1]: x"
    assert format_message("", 3, 1, "t", b"x", now, 1, "h") == b"<30>Jan  1 00:00:00 t[1]: x"
    assert expand_tag("", "a" * 64, "/n", "img") == "a" * 12
    assert expand_tag("{{.Name}}/{{.ImageName}}", "a" * 64, "/n", "img") == "n/img"


def test_restart_keeps_the_previous_run_once(tmp_path: Path) -> None:
    path = str(tmp_path / "container.log")

    async def scenario() -> None:
        plan = LogPlan("json-file", max_size=10, max_file=5)
        keeper = LogKeeper()
        Path(path).write_bytes(b"run1")
        keeper.watch(path, plan)  # the live file gets its .keep name
        keeper.prepare(path, plan)  # the container starts again
        Path(path).write_bytes(b"run2")
        keeper.watch(path, plan)
        await settle(keeper)
        keeper.close()

    asyncio.run(scenario())
    assert [Path(f).read_bytes() for _k, f, _gz in files.generations(path)] == [b"run1"]
    assert Path(path).read_bytes() == b"run2"
