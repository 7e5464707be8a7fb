"""The stage graph of a Dockerfile: which stages the target needs and what each waits for.

Pure: nodes in, a plan out.  A stage depends on another when its FROM names it, or a
``COPY --from`` / ``RUN --mount=...,from=`` of it names it (by name or index).  Only the
target stage (``--target``, else the last one) and what it needs transitively are built;
stages that do not depend on each other may run at the same time.  A reference that still
holds a variable after the global ARGs are applied cannot be resolved here: it is taken to
depend on every earlier stage, which is always safe (only less parallel).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from cove.build.dockerfile.parser import Node

_VAR = re.compile(r"\$")
_MOUNT_FROM = re.compile(r"(?:^|,)from=([^,]*)")


@dataclass
class StagePlan:
    index: int
    name: str | None  # lower case, as stage names are compared
    base: str  # FROM's reference, global ARGs applied
    nodes: list[Node]  # the FROM node first
    deps: set[int] = field(default_factory=set)


@dataclass
class BuildPlan:
    prelude: list[Node]  # the ARGs before the first FROM
    stages: list[StagePlan]
    target: int  # index of the stage whose image is the result
    needed: list[int]  # indexes of the stages to build, in file order

    @property
    def skipped(self) -> list[StagePlan]:
        return [s for s in self.stages if s.index not in self.needed]


def split_stages(nodes: list[Node]) -> tuple[list[Node], list[list[Node]]]:
    """(the nodes before the first FROM, one list of nodes per stage)."""
    prelude: list[Node] = []
    stages: list[list[Node]] = []
    for n in nodes:
        if n.cmd == "from":
            stages.append([n])
        elif stages:
            stages[-1].append(n)
        else:
            prelude.append(n)
    return prelude, stages


def _refs(stage_nodes: list[Node]) -> list[str]:
    """References to other stages (or images) made by the steps of one stage."""
    out: list[str] = []
    for n in stage_nodes[1:]:
        node = n  # ONBUILD triggers run in a child image's build, not here
        for f in node.flags:
            if node.cmd == "copy" and f.startswith("--from="):
                out.append(f[len("--from=") :])
            elif node.cmd == "run" and f.startswith("--mount="):
                m = _MOUNT_FROM.search(f[len("--mount=") :])
                if m:
                    out.append(m.group(1).strip("\"'"))
    return out


def plan(
    nodes: list[Node],
    target: str | None,
    expand: Callable[[str], str],
    named_contexts: frozenset[str] = frozenset(),
) -> BuildPlan:
    """The build plan.  ``expand`` applies the global ARGs to a FROM or ``--from`` value;
    a reference naming a build context (``--build-context``) is not a stage dependency.
    Raises ValueError with Docker's words for a target that no stage has."""
    prelude, groups = split_stages(nodes)
    stages: list[StagePlan] = []
    by_name: dict[str, int] = {}
    for i, group in enumerate(groups):
        head = group[0]
        name = head.args[2].lower() if len(head.args) == 3 else None
        base = expand(head.args[0]) if head.args else ""
        sp = StagePlan(i, name, base, group)
        for ref in [base, *_refs(group)]:
            sp.deps |= _dep(ref, i, by_name, named_contexts, expand, ref is base)
        stages.append(sp)
        if name and name not in by_name:
            by_name[name] = i
    if not stages:
        return BuildPlan(prelude, [], -1, [])
    if target:
        idx = by_name.get(target.lower())
        if idx is None:
            raise ValueError(f"failed to reach build target {target} in Dockerfile")
    else:
        idx = len(stages) - 1
    needed: set[int] = set()
    todo = [idx]
    while todo:
        i = todo.pop()
        if i in needed:
            continue
        needed.add(i)
        todo.extend(stages[i].deps)
    return BuildPlan(prelude, stages, idx, sorted(needed))


def _dep(
    ref: str,
    index: int,
    by_name: dict[str, int],
    named: frozenset[str],
    expand: Callable[[str], str],
    expanded: bool,
) -> set[int]:
    if not expanded and _VAR.search(ref):
        return set(range(index))  # known only once the stage runs: wait for all before it
    value = expand(ref) if not expanded else ref
    low = value.lower()
    if low in named:
        return set()
    if low in by_name:
        return {by_name[low]}
    if not expanded and value.isdigit() and int(value) < index:
        return {int(value)}
    return set()


def waves(bp: BuildPlan) -> list[list[int]]:
    """The needed stages grouped by depth: a stage's wave comes after all of its deps'.
    Stages in one wave do not depend on each other (what the scheduler runs together)."""
    depth: dict[int, int] = {}
    for i in bp.needed:
        deps = [d for d in bp.stages[i].deps if d in depth]
        depth[i] = 1 + max((depth[d] for d in deps), default=-1)
    out: list[list[int]] = []
    for i in bp.needed:
        while len(out) <= depth[i]:
            out.append([])
        out[depth[i]].append(i)
    return out
