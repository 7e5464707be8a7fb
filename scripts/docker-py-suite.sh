#!/usr/bin/env bash
# Run docker-py's own integration suite (tests/integration of a docker-py checkout or sdist)
# against a coved of its own, and print pass counts per test file.
#
#   scripts/docker-py-suite.sh CHECKOUT [pytest args...]
#
# The coved gets temporary roots (as the test fixture's) and a busybox image built from
# Debian's busybox-static, tagged as the images the suite asks for.  Skipped: swarm,
# services, secrets, configs, nodes, plugins, credential helpers, ssh, and the tests that
# pull from Docker Hub (no internet here).  The SDK under test is the checkout itself,
# installed in its own venv (DOCKER_PY_VENV, default /tmp/cove-docker-py-venv).
set -euo pipefail
checkout=$(realpath "${1:?usage: $0 CHECKOUT [pytest args...]}")
shift
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${DOCKER_PY_VENV:-/tmp/cove-docker-py-venv}
if ! "$venv/bin/python" -c "import pytest, pytest_timeout, paramiko" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q pytest paramiko pytest-timeout
fi
"$venv/bin/pip" install -q --no-deps --force-reinstall "$checkout" >/dev/null
# docker-py before 7.1 breaks with requests 2.32 ("Not supported URL scheme http+docker")
"$venv/bin/pip" install -q "requests<2.32" "urllib3<2" >/dev/null

exec "$root/.venv/bin/python" - "$checkout" "$venv" "$root" "$@" <<'PY'
import os, subprocess, sys, xml.etree.ElementTree as ET
from collections import Counter

checkout, venv, root, extra = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
sys.path.insert(0, root)
from tests.daemon_fixture import running_daemon  # noqa: E402

STAND_INS = ["alpine:3.10", "alpine:latest", "busybox:buildroot-2014.02", "hello-world:latest"]
SKIP_FILES = [
    "api_swarm_test.py", "api_service_test.py", "api_secret_test.py", "api_config_test.py",
    "api_plugin_test.py", "models_swarm_test.py", "models_services_test.py",
    "models_nodes_test.py", "credentials",
]
# tests that need Docker Hub (pull of real images) or swarm
DESELECT = ("not pull and not Pull and not swarm and not Swarm and not hello_world"
            # these initialise a swarm first (ingress, attachable and swarm-scoped networks)
            " and not ingress and not attachable and not with_scope"
            # these pull alpine or hello-world from Docker Hub inside the test
            " and not test_get_load_image and not test_prune_images"
            " and not (ImageCollectionTest and test_list) and not test_tag_and_remove"
            " and not test_run_with_image_that_does_not_exist"
            # asks Docker Hub for busybox's manifest
            " and not test_inspect_distribution"
            # docker-py 7.0 makes the WebSocket URL from http+docker://, which
            # websocket-client refuses: it fails over any unix socket, dockerd's too
            " and not test_run_container_reading_socket_ws")

with running_daemon() as d:
    # alpine's stand-in gets what the suite expects of alpine: /var/opt, a postgres user
    base = "busybox:latest"
    prep = ("mkdir -p /var/opt && echo 'postgres:x:70:70::/var/lib/postgresql:/bin/sh'"
            " >> /etc/passwd && echo 'postgres:x:70:' >> /etc/group")
    if d.cove("run", "--name", "alpine-prep", base, "sh", "-c", prep).returncode == 0:
        if d.cove("commit", "alpine-prep", "alpine-standin:latest").returncode == 0:
            base = "alpine-standin:latest"
        d.cove("rm", "-f", "alpine-prep")
    for tag in STAND_INS:
        repo, _, t = tag.partition(":")
        source = base if repo == "alpine" else "busybox:latest"
        d.cove("tag", source, f"{repo}:{t}", check=True)
    junit = os.path.join(d.base, "junit.xml")
    cmd = [f"{venv}/bin/pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
           "-k", DESELECT, "--timeout=60",
           *[f"--ignore=tests/integration/{f}" for f in SKIP_FILES],
           "tests/integration", *extra]
    env = {**d.env, "DOCKER_HOST": d.host, "DOCKER_TEST_API_VERSION": "1.44"}
    env.pop("DOCKER_TLS_VERIFY", None)
    # the contexts tests write beside config.json (into the cwd when there is none)
    env["DOCKER_CONFIG"] = os.path.join(d.base, "docker-config")
    os.makedirs(env["DOCKER_CONFIG"], exist_ok=True)
    with open(os.path.join(env["DOCKER_CONFIG"], "config.json"), "w") as f:
        f.write("{}")
    env["HOME"] = d.base
    subprocess.run(cmd, cwd=checkout, env=env)
    per: dict[str, Counter[str]] = {}
    report_copy = os.environ.get("DOCKER_PY_JUNIT")
    if report_copy:
        import shutil
        shutil.copy(junit, report_copy)
    for case in ET.parse(junit).getroot().iter("testcase"):
        f = (case.get("classname") or "").split(".")[2:3]
        name = (f[0] if f else "?") + ".py"
        kind = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                kind = "failed"
            elif child.tag == "skipped":
                kind = "skipped"
        per.setdefault(name, Counter())[kind] += 1
    total: Counter[str] = Counter()
    print(f"\n{'file':<32}{'passed':>8}{'failed':>8}{'skipped':>9}")
    for name in sorted(per):
        c = per[name]
        total.update(c)
        print(f"{name:<32}{c['passed']:>8}{c['failed']:>8}{c['skipped']:>9}")
    print(f"{'total':<32}{total['passed']:>8}{total['failed']:>8}{total['skipped']:>9}")
PY
