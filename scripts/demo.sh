#!/usr/bin/env bash
# `sudo make demo`: cove working on this machine, the way a Docker user would try it.
set -euo pipefail
cd "$(dirname "$0")/.."
COVE=${COVE:-/usr/local/bin/cove}
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step cove version
$COVE version
if ! $COVE image inspect busybox:latest >/dev/null 2>&1; then
  step "make image   # busybox:latest from Debian's busybox-static"
  make -s image COVE=$COVE
fi
step cove images
$COVE images
step cove run --rm busybox echo hello
$COVE run --rm busybox echo hello
$COVE rm -f demo-web >/dev/null 2>&1 || true
step cove run -d --name demo-web busybox sh -c "'echo started; sleep 1000'"
$COVE run -d --name demo-web busybox sh -c 'echo started; sleep 1000'
step cove ps
$COVE ps
step cove exec demo-web sh -c "'echo hello from \$(hostname)'"
$COVE exec demo-web sh -c 'echo hello from $(hostname)'
step cove logs demo-web
$COVE logs demo-web
step "cove inspect -f '{{.State.Status}} {{.State.Pid}}' demo-web"
$COVE inspect -f '{{.State.Status}} {{.State.Pid}}' demo-web
step cove stop -t 1 demo-web
$COVE stop -t 1 demo-web
step cove rm demo-web
$COVE rm demo-web
if command -v docker >/dev/null; then
  step "DOCKER_HOST=unix:///run/cove.sock docker run --rm busybox echo hello from the docker CLI"
  DOCKER_HOST=unix:///run/cove.sock docker run --rm busybox echo hello from the docker CLI
fi
printf '\ncoved keeps running (log: /var/log/cove/coved.log); try: cove run -it busybox sh\n'
