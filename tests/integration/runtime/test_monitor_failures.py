"""How create and exec report a monitor that fails before the runtime says anything.

A stand-in "conmon" script plays the failing monitor, so these need neither root nor crun.
"""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from cove.errors import SystemError_
from cove.runtime.base import IOConfig
from cove.runtime.conmon import ConmonRuntime

pytestmark = pytest.mark.integration


def fake_conmon(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake-conmon"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def runtime(tmp_path: Path, conmon: str) -> ConmonRuntime:
    return ConmonRuntime(
        "/bin/true",
        conmon,
        state_root=str(tmp_path / "state"),
        exec_root=str(tmp_path / "run"),
        timeout=5,
    )


def test_monitor_that_cannot_start_reports_its_stderr(tmp_path: Path) -> None:
    rt = runtime(tmp_path, fake_conmon(tmp_path, "echo 'option parsing failed' >&2; exit 1"))
    bundle = tmp_path / "b"
    bundle.mkdir()
    with pytest.raises(SystemError_) as exc:
        asyncio.run(rt.create("c", str(bundle), IOConfig()))
    assert exc.value.message == "OCI runtime create failed: option parsing failed"


def test_monitor_that_exits_silently(tmp_path: Path) -> None:
    rt = runtime(tmp_path, fake_conmon(tmp_path, "exit 0"))
    bundle = tmp_path / "b"
    bundle.mkdir()
    with pytest.raises(SystemError_) as exc:
        asyncio.run(rt.create("c", str(bundle), IOConfig()))
    assert exc.value.message == "OCI runtime create failed: conmon exited without a status"
    with pytest.raises(SystemError_) as exc:
        asyncio.run(rt.exec("c", "x1", {"args": ["true"]}, IOConfig(), True))
    assert exc.value.message.startswith("OCI runtime exec failed: ")
    assert not os.path.exists(os.path.join(rt.execs_dir, "x1"))


def test_runtime_message_from_the_sync_pipe_is_kept_intact(tmp_path: Path) -> None:
    msg = r'{"data": -1, "message": "executable file `x` not found in $PATH: No such file"}'
    rt = runtime(tmp_path, fake_conmon(tmp_path, f"echo '{msg}' >/dev/fd/$_OCI_SYNCPIPE"))
    bundle = tmp_path / "b"
    bundle.mkdir()
    with pytest.raises(SystemError_) as exc:
        asyncio.run(rt.create("c", str(bundle), IOConfig()))
    assert exc.value.message == (
        "OCI runtime create failed: executable file `x` not found in $PATH: No such file"
    )
