#!/usr/bin/env bash
# Build the OCI distribution-spec conformance suite (v1.0.1, Go) offline from Debian's Go
# packages and run it against `cove registry serve` on a loopback port.
#
#   scripts/oci-conformance.sh            # or: make oci-conformance
#
# Sources (no internet here: give local copies).  Each may be a git directory or clone
# holding the tag, or a plain source tree:
#   OCI_SPEC_SRC  github.com/opencontainers/distribution-spec  (tag v1.0.1, conformance/)
#   REGGIE_SRC    github.com/bloodorangeio/reggie              (tag v0.5.0, the suite's HTTP
#                 client; the one dependency Debian does not package)
# Other settings:
#   OCI_CONF_DIR  work directory (GOPATH, build cache, test binary, results);
#                 default ${TMPDIR:-/tmp}/cove-oci-conformance
#   OCI_CONF_AUTH ""|basic|token: run the registry with that access control (user
#                 conformance:secret) and the suite with those credentials
#   COVE          the cove executable (default: the repository's .venv/bin/cove)
#
# Every other dependency comes from Debian 12 (installed here with apt when missing), built
# in GOPATH mode against /usr/share/gocode, so nothing is downloaded by the go command.
# Debian's versions are newer releases of the modules the suite's go.mod names: ginkgo
# 1.16.5 (suite: 1.15.2), gomega 1.10.3 (1.11.0), image-spec 1.1.0-rc2 (1.0.1), uuid 1.3.0
# (1.2.0), go-digest 1.0.0, resty 2.6.0 (2.1.0), mapstructure 1.5.0 (1.1.2).
#
# Prints the suite's output, then passed/failed/skipped per category; exits with the
# suite's status.  The registry (a process of this script) is stopped on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=${OCI_CONF_DIR:-${TMPDIR:-/tmp}/cove-oci-conformance}
cove=${COVE:-$root/.venv/bin/cove}
auth=${OCI_CONF_AUTH:-}
spec_src=${OCI_SPEC_SRC:-}
reggie_src=${REGGIE_SRC:-}
# Where a session's source-fetching tool leaves its clones, when nothing else is given.
mirror=/work/.mirror
[ -z "$spec_src" ] && [ -e "$mirror/opencontainers+distribution-spec/repo" ] &&
  spec_src=$mirror/opencontainers+distribution-spec/repo
[ -z "$reggie_src" ] && [ -e "$mirror/bloodorangeio+reggie/repo" ] &&
  reggie_src=$mirror/bloodorangeio+reggie/repo
if [ -z "$spec_src" ] || [ -z "$reggie_src" ]; then
  echo "set OCI_SPEC_SRC (distribution-spec, tag v1.0.1) and REGGIE_SRC (reggie, tag v0.5.0)" >&2
  echo "to local git directories or source trees: this machine cannot download them" >&2
  exit 2
fi

# --- Go and the suite's dependencies, from Debian ------------------------------------------
apt_pkgs=(golang-go golang-github-onsi-ginkgo-dev golang-gomega-dev
  golang-github-opencontainers-go-digest-dev golang-github-opencontainers-image-spec-dev
  golang-github-google-uuid-dev golang-github-go-resty-resty-dev
  golang-github-mitchellh-mapstructure-dev)
missing=()
for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# unpack TAG's SUBDIR (or the whole tree) of SRC (a git dir, a clone, or a source tree) into DEST
unpack() {
  local src=$1 tag=$2 subdir=$3 dest=$4 gitdir=""
  if git --git-dir="$src" rev-parse --verify -q "$tag^{commit}" >/dev/null 2>&1; then
    gitdir=$src
  elif git -C "$src" rev-parse --verify -q "$tag^{commit}" >/dev/null 2>&1; then
    gitdir=$(git -C "$src" rev-parse --absolute-git-dir)
  fi
  mkdir -p "$dest"
  if [ -n "$gitdir" ]; then
    git --git-dir="$gitdir" archive "$tag" ${subdir:+"$subdir"} | tar -x -C "$dest"
  else
    echo "note: $src has no tag $tag; using the tree as it is" >&2
    if [ -n "$subdir" ]; then cp -a "$src/$subdir" "$dest/"; else cp -a "$src/." "$dest/"; fi
  fi
}

# --- build ---------------------------------------------------------------------------------
gopath=$work/gopath
rm -rf "$gopath"
spec_dir=$gopath/src/github.com/opencontainers/distribution-spec
unpack "$spec_src" v1.0.1 conformance "$spec_dir"
unpack "$reggie_src" v0.5.0 "" "$gopath/src/github.com/bloodorangeio/reggie"
# GOPATH mode knows no major-version suffix: resty's /v2 import path points at Debian's copy.
mkdir -p "$gopath/src/github.com/go-resty/resty"
ln -s /usr/share/gocode/src/github.com/go-resty/resty "$gopath/src/github.com/go-resty/resty/v2"
(
  cd "$spec_dir/conformance"
  GO111MODULE=off GOFLAGS= GOPROXY=off GOPATH="$gopath:/usr/share/gocode" \
    GOCACHE="$work/gocache" go test -c -o "$work/conformance.test" .
)
echo "built $work/conformance.test ($(go version))"

# --- a registry of our own on loopback ------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
regroot=$(mktemp -d "$work/registry.XXXXXX")
results=$work/results
rm -rf "$results" && mkdir -p "$results"
serve=("$cove" registry serve --addr "127.0.0.1:$port" --root "$regroot/root")
creds=()
if [ -n "$auth" ]; then
  serve+=(--auth "$auth" --auth-user conformance:secret)
  creds=(OCI_USERNAME=conformance OCI_PASSWORD=secret)
fi
"${serve[@]}" >"$work/registry.log" 2>&1 &
reg_pid=$!
cleanup() {
  kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
  rm -rf "$regroot"
}
trap cleanup EXIT
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$reg_pid" 2>/dev/null || { cat "$work/registry.log" >&2; exit 1; }
  sleep 0.1
done

# --- run ------------------------------------------------------------------------------------
status=0
(
  cd "$results"
  env OCI_ROOT_URL="http://127.0.0.1:$port" OCI_NAMESPACE=conformance/repo \
    OCI_CROSSMOUNT_NAMESPACE=conformance/other \
    OCI_TEST_PULL=1 OCI_TEST_PUSH=1 OCI_TEST_CONTENT_DISCOVERY=1 OCI_TEST_CONTENT_MANAGEMENT=1 \
    OCI_HIDE_SKIPPED_WORKFLOWS=0 OCI_DEBUG="${OCI_DEBUG:-0}" "${creds[@]}" \
    "$work/conformance.test" -ginkgo.noColor
) || status=$?

python3 - "$results/junit.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET
from collections import Counter

PREFIX = "OCI Distribution Conformance Tests "
counts: dict[str, Counter[str]] = {}
for case in ET.parse(sys.argv[1]).iter("testcase"):
    name = case.get("name", "").removeprefix(PREFIX)
    category = next(
        (c for c in ("Pull", "Push", "Content Discovery", "Content Management")
         if name.startswith(c + " ")), "other")
    if case.find("skipped") is not None:
        outcome = "skipped"
    elif case.find("failure") is not None or case.find("error") is not None:
        outcome = "failed"
        print("FAILED:", name)
    else:
        outcome = "passed"
    counts.setdefault(category, Counter())[outcome] += 1
for category, c in counts.items():
    print(f"{category:20} {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
PY
echo "results: $results (junit.xml, report.html); registry log: $work/registry.log"
exit "$status"
