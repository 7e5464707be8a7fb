"""Shared fixtures: one coved of the suite's own for the integration and compat tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import Daemon, running_daemon

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture(scope="session")
def daemon() -> Iterator[Daemon]:
    if os.geteuid() != 0:
        pytest.skip("integration tests need root")
    if not shutil.which("crun") or not shutil.which("conmon"):
        pytest.skip("crun and conmon are needed (make deps)")
    with running_daemon() as d:
        yield d
