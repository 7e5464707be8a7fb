"""make bench: cove beside dockerd and podman on the same work, as medians and ratios.

Usage: .venv/bin/python bench/run.py [--runs N] [--only case,case] [--peers cove,docker,podman]

Every engine runs with its own data root, exec root and socket under /tmp/cove-bench-<name>-*,
started here and torn down at the end (also on Ctrl-C or a failure). Nothing is asserted:
the figures and the targets from the issue are printed, the raw numbers written as JSON.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import sys
import time
from typing import Any

import cases
import peers
import procs
import report

ALL_ENGINES = ("cove", "docker", "podman")
# Not in the default set: another cove build (--base-bin), for before/after comparisons.
KNOWN_ENGINES = (*ALL_ENGINES, "cove-base")
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "latest.json")


def _csv(value: str, allowed: list[str], what: str) -> list[str]:
    items = [v.strip().replace("_", "-") for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad:
        raise argparse.ArgumentTypeError(
            f"unknown {what}: {', '.join(bad)} (choose from {', '.join(allowed)})"
        )
    return items


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=20, help="timed runs per case (default 20)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="split each case's runs into N rounds, engines alternating (default 1)",
    )
    p.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    p.add_argument(
        "--only",
        default=",".join(cases.CASES),
        help="cases, comma-separated: " + ",".join(cases.CASES),
    )
    p.add_argument(
        "--peers",
        default=",".join(ALL_ENGINES),
        help="engines, comma-separated (default cove,docker,podman; also cove-base)",
    )
    p.add_argument("--out", default=DEFAULT_OUT, help=f"raw results JSON (default {DEFAULT_OUT})")
    p.add_argument(
        "--docker-cli",
        default="docker",
        help="docker client for the docker peer (default: docker on PATH)",
    )
    p.add_argument(
        "--cove-bin",
        default="",
        help="directory holding cove and coved (default: the repo's .venv/bin)",
    )
    p.add_argument(
        "--base-bin",
        default=os.environ.get("COVE_BENCH_BASE_BIN", ""),
        help="cove and coved of the cove-base peer (default: $COVE_BENCH_BASE_BIN, "
        f"else {peers.BASE_BIN_DEFAULT})",
    )
    p.add_argument("--timeout", type=float, default=60.0, help="limit per CLI command, s")
    a = p.parse_args(argv)
    try:
        only = _csv(a.only, list(cases.CASES), "case")
        a.only = [c for c in cases.CASES if c in only]  # idle RSS first, whatever the order
        a.peers = _csv(a.peers, list(KNOWN_ENGINES), "engine")
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    if a.runs < 1 or a.rounds < 1:
        p.error("--runs and --rounds must be at least 1")
    return a


def say(msg: str) -> None:
    print(msg, flush=True)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.engines: dict[str, peers.Engine] = {}
        self.status: dict[str, str] = {}  # engine -> "ok" | "not available: .." | "failed: .."
        self.results: report.Results = {}
        self.errors: dict[str, dict[str, str]] = {}
        self.marks: dict[tuple[str, str], str] = {}
        self.raw: dict[tuple[str, str], list[float]] = {}  # samples of all rounds so far
        self.cleanup_notes: dict[str, list[str]] = {}
        self.interrupted = False

    def active(self) -> list[peers.Engine]:
        return [e for n, e in self.engines.items() if self.status.get(n) == "ok"]

    def start_engines(self, tar: bytes) -> None:
        for name in self.args.peers:
            eng = peers.make(name, self.args)
            why = eng.missing()
            if why:
                self.status[name] = f"not available: {why}"
                say(f"[{name}] not available: {why}")
                continue
            self.engines[name] = eng
            say(f"[{name}] starting ...")
            t0 = time.monotonic()
            try:
                eng.start()
                eng.import_image(tar)
            except (peers.EngineError, OSError, ValueError) as e:
                self.status[name] = f"not available: {e}"
                say(f"[{name}] not available: {e}")
                self.teardown(name)
                continue
            self.status[name] = "ok"
            say(
                f"[{name}] ready ({eng.version or 'version unknown'}) in "
                f"{time.monotonic() - t0:.1f}s, base {eng.base}"
            )

    def run_cases(self) -> None:
        rounds = min(self.args.rounds, self.args.runs)
        for case in self.args.only:
            for r in range(rounds):
                # Alternate the order so neither engine always runs right after the other's
                # work (or while the machine is busier): drift then hits both alike.
                order = self.active() if r % 2 == 0 else self.active()[::-1]
                runs = self.args.runs // rounds + (1 if r < self.args.runs % rounds else 0)
                for eng in order:
                    if case not in self.errors.get(eng.name, {}):
                        self.run_case(case, eng, runs, f" (round {r + 1}/{rounds})" * (rounds > 1))

    def run_case(self, case: str, eng: peers.Engine, runs: int, note: str) -> None:
        fn = cases.CASES[case]
        say(f"[{eng.name}] {case}{note} ...")
        try:
            samples = fn(eng, runs, self.args.warmup)
        except peers.EngineError as e:
            self.case_failed(eng, case, str(e))
            return
        except Exception as e:  # a bench bug must not skip cleanup
            self.case_failed(eng, case, f"{type(e).__name__}: {e}")
            return
        left = eng.settle()
        if left:
            say(f"[{eng.name}] {left} helper processes still running after {case}")
        for k in cases.CASE_METRICS[case]:
            if k not in samples:
                self.marks[(eng.name, k)] = "n/a"
        for key, xs in samples.items():
            m = cases.METRICS[key]
            xs = self.raw.setdefault((eng.name, key), []) + list(xs)
            self.raw[(eng.name, key)] = xs
            self.results.setdefault(eng.name, {})[key] = {
                "unit": m.unit,
                "median": cases.median(xs),
                "p90": cases.p90(xs),
                "samples": [round(x, 3) for x in xs],
            }
            say(
                f"    {m.label}: median {cases.median(xs):.2f} {m.unit}, "
                f"p90 {cases.p90(xs):.2f} {m.unit} ({len(xs)} samples)"
            )

    def case_failed(self, eng: peers.Engine, case: str, msg: str) -> None:
        say(f"[{eng.name}] {case} FAILED: {msg}")
        self.errors.setdefault(eng.name, {})[case] = msg
        for k in cases.CASE_METRICS[case]:
            self.marks[(eng.name, k)] = "ERR"
        if eng.daemon_alive():
            # Whatever the failed case left must not weigh on the next one.
            try:
                eng.remove(eng.container_ids())
                eng.settle()
            except peers.EngineError as e:
                say(f"[{eng.name}] could not remove its containers after {case}: {e}")
        else:
            self.status[eng.name] = f"failed: daemon exited during {case}"
            say(f"[{eng.name}] daemon died; skipping its remaining cases")
            for c in self.args.only[self.args.only.index(case) + 1 :]:
                for k in cases.CASE_METRICS[c]:
                    self.marks[(eng.name, k)] = "skipped"
            self.teardown(eng.name)

    def teardown(self, name: str) -> None:
        eng = self.engines.get(name)
        if eng is None or not eng.base:
            return
        base = eng.base
        try:
            notes = eng.teardown()
        except Exception as e:  # the path-based cleanup must still run
            notes = [f"teardown error: {e}", *peers.force_clean(base)]
        self.cleanup_notes.setdefault(name, []).extend(notes)
        for n in notes:
            say(f"[{name}] cleanup: {n}")

    def teardown_all(self) -> None:
        for name in list(self.engines):
            self.teardown(name)

    def json(self) -> dict[str, Any]:
        return {
            "meta": {
                "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "host": platform.node(),
                "kernel": platform.release(),
                "cpus": os.cpu_count(),
                "runs": self.args.runs,
                "warmup": self.args.warmup,
                "cases": self.args.only,
                "interrupted": self.interrupted,
            },
            "engines": {
                name: {
                    "status": self.status.get(name, "not run"),
                    "version": self.engines[name].version if name in self.engines else "",
                    "cli": self.engines[name].argv()[0] if name in self.engines else "",
                    "info": cases.INFO.get(name, {}),
                    "results": self.results.get(name, {}),
                    "errors": self.errors.get(name, {}),
                    "cleanup": self.cleanup_notes.get(name, []),
                }
                for name in self.args.peers
            },
            "base_ratios": {k: round(r, 4) for k, _, _, r in self.base_ratios()},
            "targets": [
                {"target": t, "figures": f, "verdict": v}
                for t, f, v in report.targets(self.results)
            ],
        }

    def base_ratios(self) -> list[tuple[str, float, float, float]]:
        """(metric, cove median, cove-base median, cove/base) for rows both builds have."""
        cur, base = self.results.get("cove", {}), self.results.get("cove-base", {})
        out = []
        for key in cases.METRICS:
            c, b = cur.get(key, {}).get("median"), base.get(key, {}).get("median")
            if isinstance(c, (int, float)) and isinstance(b, (int, float)) and b:
                out.append((key, float(c), float(b), float(c) / float(b)))
        return out

    def print_report(self) -> None:
        names = list(self.args.peers)
        say("")
        for name in names:
            st = self.status.get(name, "not run")
            extra = ""
            if name in self.engines and self.engines[name].version:
                extra = f" ({self.engines[name].version})"
            mon = cases.INFO.get(name, {}).get("monitor")
            if mon:
                extra += f"; monitor: {mon}"
            say(f"{name:<8} {st.splitlines()[0][:200]}{extra}")
        say(f"\nmedians of {self.args.runs} runs (memory: MiB, shown as MB)")
        say(report.table(self.results, names, "median", self.marks))
        say("\np90")
        say(report.table(self.results, names, "p90", self.marks))
        if "cove" in names and "cove-base" in names:
            say("\ncove against cove-base, medians (issue 16: within 5 % of the base or better)")
            for key, cur, base, ratio in self.base_ratios():
                m = cases.METRICS[key]
                verdict = "ok" if ratio <= 1.05 else "WORSE"
                say(f"  {m.label + ' (' + m.unit + ')':<30}{cur:>10.2f}{base:>10.2f}"
                    f"{ratio:>8.3f}  {verdict}")  # fmt: skip
        if "cove" in names:
            say("\ntargets (printed, never asserted)")
            for goal, figures, verdict in report.targets(self.results):
                say(f"  {verdict:<7} {goal:<36} {figures}")
        for name, errs in self.errors.items():
            for case, msg in errs.items():
                say(f"\n{name} {case} failed: {msg}")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if os.geteuid() != 0:
        print("bench/run.py: must run as root (it starts container engines)", file=sys.stderr)
        return 2

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a shell starts background jobs with it ignored, and `kill -INT` should work.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    for n in peers.clean_stale():
        say(f"stale: {n}")

    before = (procs.host_links(), procs.nft_tables(), procs.iptables_chains())
    cgroups_before = procs.cgroup_parents()
    bench = Bench(args)
    try:
        tar = peers.busybox_tar()
        bench.start_engines(tar)
        bench.run_cases()
    except KeyboardInterrupt:
        bench.interrupted = True
        say("\ninterrupted: cleaning up (please wait)")
    finally:
        # A second Ctrl-C must not leave half-torn-down engines behind.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        bench.teardown_all()
        gone = procs.remove_new_cgroup_parents(cgroups_before)
        if gone:
            say(f"cleanup: removed {len(gone)} engine cgroup parents made during the run")
    after = (procs.host_links(), procs.nft_tables(), procs.iptables_chains())
    for what, b, a in zip(
        ("network links", "nft tables", "iptables rules"), before, after, strict=True
    ):
        if a - b:
            say(f"note: {what} appeared during the run (another user's?): {sorted(a - b)[:8]}")

    bench.print_report()
    try:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(bench.json(), f, indent=1)
            f.write("\n")
        os.replace(tmp, args.out)
        say(f"\nraw results: {os.path.abspath(args.out)}")
    except OSError as e:
        say(f"\ncould not write {args.out}: {e}")
    if bench.interrupted:
        return 130
    return 0 if any(s == "ok" for s in bench.status.values()) or bench.results else 1


if __name__ == "__main__":
    sys.exit(main())
