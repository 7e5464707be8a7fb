"""Security case (issue 13): what the default seccomp profile costs a short container.

Each run of ``run --rm busybox true`` under the default profile is paired with one under
``--security-opt seccomp=unconfined`` right before it (the order alternates from pair to
pair): the paired difference is the profile's cost (compiling the filter and loading it),
free of the machine's drift.  Every engine runs it; each applies its own default profile.
"""

from __future__ import annotations

from peers import IMAGE, Engine

METRICS = [
    ("run_rm_seccomp", "run --rm true, default seccomp", "ms"),
    ("run_rm_unconfined", "run --rm true, seccomp=unconfined", "ms"),
    ("seccomp_extra", "default profile's cost over unconfined", "ms"),
]
NONE = ("--network", "none")
UNCONFINED = ("--security-opt", "seccomp=unconfined")


def case_seccomp(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    confined, unconfined, extra = [], [], []
    for i in range(warmup + runs):
        if i % 2:
            d = eng.call("run", "--rm", *NONE, IMAGE, "true")
            u = eng.call("run", "--rm", *NONE, *UNCONFINED, IMAGE, "true")
        else:
            u = eng.call("run", "--rm", *NONE, *UNCONFINED, IMAGE, "true")
            d = eng.call("run", "--rm", *NONE, IMAGE, "true")
        if i >= warmup:
            confined.append(d.seconds * 1000)
            unconfined.append(u.seconds * 1000)
            extra.append((d.seconds - u.seconds) * 1000)
    return {"run_rm_seccomp": confined, "run_rm_unconfined": unconfined, "seccomp_extra": extra}
