"""The stage graph: which stages a target needs and which may run together (pure)."""

from __future__ import annotations

import pytest

from cove.build.dockerfile.parser import parse
from cove.build.graph import plan, waves

FILE = """ARG BASE=busybox
FROM $BASE AS deps
RUN echo deps
FROM busybox AS assets
RUN echo assets
FROM busybox AS test
COPY --from=deps /x /x
FROM deps AS final
COPY --from=assets /a /a
RUN --mount=type=bind,from=tools2,target=/t true
"""


def _plan(text: str, target: str | None = None, named: frozenset[str] = frozenset()):  # type: ignore[no-untyped-def]
    nodes = parse(text).nodes
    return plan(nodes, target, lambda s: s.replace("$BASE", "busybox"), named)


def test_last_stage_needs_only_its_deps() -> None:
    bp = _plan(FILE)
    assert [s.name for s in bp.stages] == ["deps", "assets", "test", "final"]
    assert bp.target == 3
    assert bp.needed == [0, 1, 3]
    assert [s.name for s in bp.skipped] == ["test"]
    assert bp.stages[0].base == "busybox"  # global ARGs applied to FROM
    assert waves(bp) == [[0, 1], [3]]  # deps and assets run together


def test_target_and_unknown_target() -> None:
    bp = _plan(FILE, "TEST")
    assert bp.needed == [0, 2] and bp.target == 2
    with pytest.raises(ValueError, match="failed to reach build target nope"):
        _plan(FILE, "nope")


def test_index_references_variables_and_named_contexts() -> None:
    text = "FROM busybox\nRUN true\nFROM busybox\nCOPY --from=0 /a /a\n"
    assert _plan(text).needed == [0, 1]
    # a --from with a variable is known only at run time: wait for every earlier stage
    text = "FROM busybox AS a\nFROM busybox AS b\nFROM busybox\nCOPY --from=$X /a /a\n"
    bp = _plan(text)
    assert bp.needed == [0, 1, 2] and waves(bp) == [[0, 1], [2]]
    # a build context named like a stage is no dependency on it
    text = "FROM busybox AS a\nFROM busybox\nCOPY --from=a /x /x\n"
    assert _plan(text, named=frozenset({"a"})).needed == [1]


def test_independent_stages_one_wave_each_chain() -> None:
    text = (
        "FROM busybox AS a\nFROM a AS b\nFROM b AS c\nFROM busybox AS d\n"
        "FROM c\nCOPY --from=d / /\n"
    )
    bp = _plan(text)
    assert waves(bp) == [[0, 3], [1], [2], [4]]
