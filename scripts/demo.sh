#!/usr/bin/env bash
# `make demo` as root (or `sudo make demo`): cove working on this machine, the way a Docker user would try it.
set -euo pipefail
cd "$(dirname "$0")/.."
COVE=${COVE:-/usr/local/bin/cove}
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

REG_ADDR=${REG_ADDR:-127.0.0.1:5000}
# Offline, docker.io is served by cove's own registry on loopback (see the registry part
# below): a fresh /etc/cove/daemon.json names it as the mirror before coved first starts.
if [ ! -e /etc/cove/daemon.json ]; then
  mkdir -p /etc/cove
  printf '{\n  "registry-mirrors": ["http://%s"]\n}\n' "$REG_ADDR" > /etc/cove/daemon.json
fi
step cove version
$COVE version
# (re)made when missing or made by an older demo without CMD ["sh"] (Docker Hub's busybox has it)
if [ "$($COVE image inspect -f '{{json .Config.Cmd}}' busybox:latest 2>/dev/null)" != '["sh"]' ]; then
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
# --- registries: cove's registry on loopback as the docker.io mirror, as it would be online --
REG_ROOT=${REG_ROOT:-/var/lib/cove-registry}
reg_up() { python3 -c "import urllib.request as u; u.urlopen('http://$REG_ADDR/v2/', timeout=1)" 2>/dev/null; }
if ! reg_up; then
  step "cove registry serve --addr $REG_ADDR --root $REG_ROOT &"
  mkdir -p /var/log/cove
  setsid $COVE registry serve --addr "$REG_ADDR" --root "$REG_ROOT" \
    >>/var/log/cove/registry.log 2>&1 </dev/null &
  for _ in $(seq 50); do reg_up && break; sleep 0.1; done
fi
step cove tag busybox "$REG_ADDR/library/busybox:latest"
$COVE tag busybox "$REG_ADDR/library/busybox:latest"
step cove push "$REG_ADDR/library/busybox:latest"
$COVE push "$REG_ADDR/library/busybox:latest"
step "cove search $REG_ADDR/busybox"
$COVE search "$REG_ADDR/busybox"
if $COVE info 2>/dev/null | grep -q "http://$REG_ADDR"; then
  step "cove rmi busybox && cove pull busybox   # docker.io/library/busybox via the mirror"
  $COVE rmi busybox
  $COVE pull busybox
  $COVE run --rm busybox echo pulled through the mirror
else
  printf '\n(coved runs without the mirror %s: add "registry-mirrors" to /etc/cove/daemon.json\n' "$REG_ADDR"
  printf ' and restart coved to see `cove pull busybox` served by it)\n'
fi
printf '\ncoved keeps running (log: /var/log/cove/coved.log); try: cove run -it busybox sh\n'
