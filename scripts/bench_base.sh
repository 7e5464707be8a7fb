#!/bin/sh
# The current tree's cove against an older commit's, side by side in one bench run (issue 16's
# "no speed lost" rows): builds a git worktree of COMMIT and a virtualenv for it if they are
# missing, then runs bench/run.py with the cove and cove-base peers.
#
#   scripts/bench_base.sh [COMMIT] [bench/run.py flags...]
#
# COMMIT defaults to 76bf123 (the last commit before issue 16's first engine change; its src/
# is the same as cd097ef's). The worktree goes to $COVE_BASE_DIR (default /tmp/cove-base);
# an existing one at another commit is refused, not moved. "cove" is the repo's own .venv
# (the working tree as it is), or, with COVE_BENCH_CUR=<commit>, a worktree of that commit in
# /tmp/cove-cur-<commit> (for a figure that other people's uncommitted edits cannot move).
# Default flags: the five rows of issue 16, 60 runs in 20 rounds with the two builds
# alternating (the machine is shared: see bench/README.md); then bench/cpu_per_op.py's CPU
# per operation ($COVE_BENCH_CPU_RUNS each, default 60; 0 skips it). Run as root.
set -eu

commit=${1:-76bf123}
[ $# -gt 0 ] && shift
repo=$(cd "$(dirname "$0")/.." && pwd)
py=$("$repo/.venv/bin/python" -c 'import sys; print(sys._base_executable)')

# tree COMMIT DIR: a worktree of COMMIT at DIR with its own .venv (made if missing).
tree() {
    want=$(git -C "$repo" rev-parse --verify "$1^{commit}")
    if [ ! -d "$2" ]; then
        git -C "$repo" worktree add --detach "$2" "$want" >/dev/null
    fi
    have=$(git -C "$2" rev-parse HEAD)
    if [ "$have" != "$want" ]; then
        echo "bench_base.sh: $2 is at $have, not $1; remove it first" \
            "(git -C $repo worktree remove --force $2)" >&2
        exit 2
    fi
    if [ ! -x "$2/.venv/bin/coved" ]; then
        # The same interpreter as the repo's venv, and the same versions of the runtime
        # dependencies where it has them, so only cove's own code differs.
        "$py" -m venv "$2/.venv"
        pins=$("$repo/.venv/bin/pip" freeze 2>/dev/null | grep -i -E '^(zstandard|pyroute2)==' || true)
        # shellcheck disable=SC2086  # pins are separate words
        "$2/.venv/bin/pip" install -q -e "$2[net]" $pins
    fi
    "$2/.venv/bin/coved" --help >/dev/null
}

base=${COVE_BASE_DIR:-/tmp/cove-base}
tree "$commit" "$base"
cur=$repo
if [ -n "${COVE_BENCH_CUR:-}" ]; then
    cur=/tmp/cove-cur-$(git -C "$repo" rev-parse --short "$COVE_BENCH_CUR^{commit}")
    tree "$COVE_BENCH_CUR" "$cur"
fi
echo "cove: $cur ($(git -C "$cur" rev-parse --short HEAD)$(git -C "$cur" diff --quiet HEAD -- src ||
    echo ', with uncommitted changes in src/')); cove-base: $base ($(git -C "$base" rev-parse --short HEAD))"

# Byte-code for both trees before timing: with PYTHONDONTWRITEBYTECODE set (or a module just
# edited), every CLI call would compile its modules again and the figures measure the compiler.
unset PYTHONDONTWRITEBYTECODE
"$py" -m compileall -q "$base/src" "$cur/src" >/dev/null || true

if [ $# -eq 0 ]; then
    set -- --only idle-rss,run-rm,run-d,exec,ps --runs 60 --rounds 20
fi
cd "$repo"
.venv/bin/python bench/run.py --peers cove,cove-base --cove-bin "$cur/.venv/bin" \
    --base-bin "$base/.venv/bin" --out "${COVE_BENCH_OUT:-bench/results/base.json}" "$@"
# Then coved's CPU per operation, which the machine's other load hardly moves (0: skip).
cpu_runs=${COVE_BENCH_CPU_RUNS:-60}
if [ "$cpu_runs" -gt 0 ]; then
    .venv/bin/python bench/cpu_per_op.py --runs "$cpu_runs" --cove-bin "$cur/.venv/bin" \
        --base-bin "$base/.venv/bin"
fi
