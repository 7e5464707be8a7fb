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

    def add(goal: str, c: float | None, limit: float | None, unit: str, why: str) -> None:
        if c is None or limit is None:
            out.append((goal, "no data", "n/a"))
        else:
            out.append(
                (
                    goal,
                    f"cove {c:.1f}{unit} vs {why} {limit:.1f}{unit}",
                    "met" if c <= limit else "missed",
                )
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
    return out
