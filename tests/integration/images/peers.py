"""dockerd 20.10 and podman 4.3 with roots of their own, as the bench starts them.

The bench's engine classes (bench/peers.py) already know how to start both engines here
(own data/exec roots, sockets, the ulimit podman needs) and how to tear them down whole;
the interop tests reuse them rather than repeat that knowledge.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench")


@contextmanager
def peer(name: str) -> Iterator[Any]:
    """A started engine ("docker" or "podman"); the test is skipped, with the reason, when
    it cannot start here."""
    sys.path.insert(0, os.path.abspath(BENCH))
    try:
        import peers  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    eng = peers.make(name, type("Args", (), {"timeout": 180})())
    why = eng.missing()
    if why:
        pytest.skip(f"{name}: {why}")
    try:
        eng.start()
    except Exception as e:  # peers.EngineError and OS errors alike
        eng.teardown()
        pytest.skip(f"{name} cannot start here: {e}")
    try:
        yield eng
    finally:
        eng.teardown()
