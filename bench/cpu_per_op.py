"""CPU time per operation of two cove builds, side by side: coved's own, and the CLI's.

Usage: .venv/bin/python bench/cpu_per_op.py [--runs N] [--cove-bin DIR] [--base-bin DIR]

Wall time on a shared 2-core machine scatters by tens of percent with whatever else runs;
the CPU a daemon spends on one request hardly does. So, to judge a refactor of coved's code
(issue 16: "within 5 % of today's"), this starts `cove` and `cove-base` (bench/peers.py: own
data roots, sockets, bridges, nft tables), gives both the same operations in alternating order
and prints, per operation, the wall median and the mean CPU of coved (the sum of its threads'
run time, /proc/<pid>/task/*/schedstat, in ns), of the CLI process, and of coved's helper
processes that live on (the log keeper). conmon and crun are the same binaries for both builds
and are not counted. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable

import cases
import peers
import procs

OPS = ("run-rm", "run-d", "exec", "ps")


def cpu_s(pid: int) -> float:
    """Run time of all live threads of pid (schedstat's first field, ns), in seconds."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended meanwhile
    return total / 1e9


def helpers_cpu_s(eng: peers.Engine, daemon: int) -> float:
    """Long-lived processes naming the engine's directory other than coved (the keeper)."""
    skip = {"conmon", "crun", "runc"}
    return sum(
        cpu_s(p)
        for p in procs.pids_naming(eng.base)
        if p != daemon and os.path.basename((procs.cmdline(p) or ["?"])[0]) not in skip
    )


def children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(engs: list[peers.Cove], runs: int) -> dict[str, dict[str, list[tuple[float, ...]]]]:
    out: dict[str, dict[str, list[tuple[float, ...]]]] = {e.name: {} for e in engs}
    sleeper = {e.name: cases.run_d(e, *cases.SLEEP)[0] for e in engs}
    ops: dict[str, Callable[[peers.Engine], peers.Result]] = {
        "run-rm": lambda e: e.call("run", "--rm", *cases.NONE, peers.IMAGE, "true"),
        "run-d": lambda e: e.call("run", "-d", *cases.NONE, peers.IMAGE, *cases.SLEEP),
        "exec": lambda e: e.call("exec", sleeper[e.name], "true"),
        "ps": lambda e: e.call("ps"),
    }
    for op, fn in ops.items():
        for i in range(runs + 1):  # the first round warms up, untimed
            for eng in engs if i % 2 else engs[::-1]:
                assert eng.proc is not None
                pid = eng.proc.pid
                d0, h0, c0 = cpu_s(pid), helpers_cpu_s(eng, pid), children_cpu_s()
                res = fn(eng)
                time.sleep(0.05)  # work coved finishes after answering counts for this op
                d1, h1, c1 = cpu_s(pid), helpers_cpu_s(eng, pid), children_cpu_s()
                if i:
                    sample = (res.seconds, d1 - d0, c1 - c0, h1 - h0)
                    out[eng.name].setdefault(op, []).append(tuple(x * 1000 for x in sample))
        if op == "run-d":
            for eng in engs:
                eng.remove([c for c in eng.container_ids() if not sleeper[eng.name].startswith(c)])
    return out


def report(engs: list[peers.Cove], res: dict[str, dict[str, list[tuple[float, ...]]]]) -> None:
    cols = ("wall median", "coved CPU", "CLI CPU", "keeper CPU")
    print(f"\nms per operation ({'; '.join(cols[1:])}: means)")
    print(f"{'op':<8}{'engine':<11}" + "".join(f"{c:>13}" for c in cols))
    for op in OPS:
        for eng in engs:
            xs = res[eng.name][op]
            wall = statistics.median(x[0] for x in xs)
            means = [statistics.fmean(x[k] for x in xs) for k in (1, 2, 3)]
            print(f"{op:<8}{eng.name:<11}{wall:>13.1f}" + "".join(f"{m:>13.2f}" for m in means))
    print("\ncove/cove-base")
    for op in OPS:
        cur, base = (res[e.name][op] for e in engs)
        ratio = [
            statistics.fmean(x[k] for x in cur) / (statistics.fmean(x[k] for x in base) or 1)
            for k in (1, 2)
        ]
        wall = statistics.median(x[0] for x in cur) / statistics.median(x[0] for x in base)
        print(f"  {op:<8} wall {wall:.3f}  coved CPU {ratio[0]:.3f}  CLI CPU {ratio[1]:.3f}")


def main() -> int:
    p = argparse.ArgumentParser(prog="bench/cpu_per_op.py", description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=60, help="operations per engine and kind")
    p.add_argument("--cove-bin", default=os.path.join(peers.ROOT, ".venv", "bin"))
    p.add_argument(
        "--base-bin", default=os.environ.get("COVE_BENCH_BASE_BIN", peers.BASE_BIN_DEFAULT)
    )
    a = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/cpu_per_op.py: must run as root (it starts container engines)")
    engs = [peers.Cove(a.cove_bin), peers.CoveBase(a.base_bin)]
    for e in engs:
        why = e.missing()
        if why:
            sys.exit(f"{e.name}: {why}")
    for n in peers.clean_stale():
        print(f"stale: {n}")
    try:
        tar = peers.busybox_tar()
        for e in engs:
            e.start()
            e.import_image(tar)
            print(f"[{e.name}] {e.coved} base {e.base}", flush=True)
        report(engs, measure(engs, a.runs))
    finally:
        for e in engs:
            for note in e.teardown():
                print(f"[{e.name}] cleanup: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
