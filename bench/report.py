"""Tables of medians, p90s and cove/peer ratios, and the targets from the issue (printed only)."""

from __future__ import annotations

from cases import METRICS

# engine -> metric -> {"median": .., "p90": .., "samples": [...]}
Results = dict[str, dict[str, dict[str, object]]]


def _val(res: Results, eng: str, key: str, stat: str) -> float | None:
    v = res.get(eng, {}).get(key, {}).get(stat)
    return float(v) if isinstance(v, (int, float)) else None


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    return f"{v:.2f}" if unit == "MB" else f"{v:.1f}"


def table(res: Results, engines: list[str], stat: str, marks: dict[tuple[str, str], str]) -> str:
    """One row per metric; `marks` replaces a cell by a word (n/a, ERR, skipped)."""
    ratios = [e for e in engines if e != "cove"] if "cove" in engines else []
    head = f"{'case':<30}" + "".join(f"{e:>10}" for e in engines)
    head += "".join(f"{'cove/' + p:>13}" for p in ratios)
    lines = [head]
    for key, m in METRICS.items():
        if not any(key in res.get(e, {}) or (e, key) in marks for e in engines):
            continue
        row = f"{m.label + ' (' + m.unit + ')':<30}"
        for e in engines:
            row += f"{marks.get((e, key)) or _fmt(_val(res, e, key, stat), m.unit):>10}"
        c = _val(res, "cove", key, stat)
        for p in ratios:
            v = _val(res, p, key, stat)
            row += f"{(f'{c / v:.2f}' if c is not None and v else '-'):>13}"
        lines.append(row)
    return "\n".join(lines)


def targets(res: Results) -> list[tuple[str, str, str]]:
    """(target, figures, verdict) for each goal of the issue that can be judged."""
    out = []

    def med(e: str, k: str) -> float | None:
        return _val(res, e, k, "median")

    def add(
        goal: str, c: float | None, limit: float | None, unit: str, why: str, at_least: bool = False
    ) -> None:
        """``at_least``: the figure must reach ``limit`` (a speed or ratio), not stay under."""
        if c is None or limit is None:
            out.append((goal, "no data", "n/a"))
        else:
            ok = c >= limit if at_least else c <= limit
            out.append(
                (goal, f"cove {c:.1f}{unit} vs {why} {limit:.1f}{unit}", "met" if ok else "missed")
            )

    peers = [v for v in (med("docker", "run_rm"), med("podman", "run_rm")) if v is not None]
    add(
        "run --rm <= 0.5x the faster peer",
        med("cove", "run_rm"),
        0.5 * min(peers) if peers else None,
        " ms",
        "limit",
    )
    add(
        "run -d no slower than podman",
        med("cove", "run_d"),
        med("podman", "run_d"),
        " ms",
        "podman",
    )
    add(
        "exec true no slower than docker",
        med("cove", "exec"),
        med("docker", "exec"),
        " ms",
        "docker",
    )
    add("cove ps under 50 ms", med("cove", "ps"), 50.0, " ms", "limit")
    add("coved idle RSS <= 60 MB", med("cove", "idle_rss"), 60.0, " MB", "limit")
    add("monitor <= 1 MB PSS per container", med("cove", "mon_pss"), 1.0, " MB", "limit")
    add("cold build <= BuildKit's", med("cove", "build_cold"), med("docker", "build_cold_bk"),
        " ms", "BuildKit")  # fmt: skip
    add("cached rebuild <= BuildKit's", med("cove", "build_cached"),
        med("docker", "build_cached_bk"), " ms", "BuildKit")  # fmt: skip
    add("push 100 MB no slower than skopeo", med("cove", "push_100m"),
        med("cove", "skopeo_push_100m"), " ms", "skopeo")  # fmt: skip
    add("pull 100 MB no slower than skopeo", med("cove", "pull_100m"),
        med("cove", "skopeo_pull_100m"), " ms", "skopeo")  # fmt: skip
    bridge = [v for v in (med("docker", "run_rm_bridge"), med("podman", "run_rm_bridge")) if v]
    add("run --rm on the bridge <= 0.5x the peers'", med("cove", "run_rm_bridge"),
        0.5 * min(bridge) if bridge else None, " ms", "limit")  # fmt: skip
    add("bridge adds <= 30 ms over --network none", med("cove", "bridge_extra"), 30.0, " ms",
        "limit")  # fmt: skip
    add("-p 127.0.0.1 download >= 0.9x the direct speed", med("cove", "dl_ratio"), 90.0, "%",
        "limit", at_least=True)  # fmt: skip
    ovl, ul = med("cove", "ovl_tcp"), med("cove", "ul_tcp")
    add("overlay TCP >= 0.8x the underlay", ovl, 0.8 * ul if ul else None, " MB/s",
        "0.8x underlay", at_least=True)  # fmt: skip
    add("new name resolvable on the other host within 1 s", med("cove", "ovl_dns"), 1000.0,
        " ms", "limit")  # fmt: skip
    add("default seccomp profile adds <= 3 ms to run --rm", med("cove", "seccomp_extra"), 3.0,
        " ms", "limit")  # fmt: skip
    add("logs --tail 5 of 1 GB under 100 ms", med("cove", "logs_tail_1g"), 100.0, " ms", "limit")
    add("RSS growth < 50 MB, 4 clients following", med("cove", "follow_rss_growth"), 50.0, " MB",
        "limit")  # fmt: skip
    add("/_ping p99 < 50 ms while they follow", med("cove", "follow_ping_p99"), 50.0, " ms",
        "limit")  # fmt: skip
    add("independent stages <= 0.6x one after the other", med("cove", "graph_ratio"), 60.0,
        "%", "limit")  # fmt: skip
    add("cache mount reused by every rebuild", med("cove", "cachemount_reused"), 100.0, "%",
        "limit", at_least=True)  # fmt: skip
    writers = [v for v in (med("docker", "log_1g_write"), med("podman", "log_1g_write")) if v]
    add("1 GB of stdout no slower than the peers", med("cove", "log_1g_write"),
        min(writers) if writers else None, " ms", "faster peer")  # fmt: skip
    rl = med("cove", "rootless_podman_run_rm")
    add("rootless run --rm <= 0.5x rootless podman", med("cove", "rootless_cove_run_rm"),
        0.5 * rl if rl else None, " ms", "limit")  # fmt: skip
    return out
