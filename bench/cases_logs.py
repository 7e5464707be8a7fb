"""Logging cases (issue 14): reading a big log, following a fast writer, writing 1 GB.

* ``logs-tail``: ``logs --tail 5`` of a 1 GB log, written straight into each engine's log
  file (its own format: Docker's json-file for dockerd and cove, podman's k8s-file) for a
  created container, then deleted.
* ``logs-follow``: a container writes as fast as it can (bounded: ``head -c`` 4 GB, stopped
  after the window) while four ``logs -f`` clients read it to /dev/null; the daemon's RSS
  growth over the window and the p99 of ``GET /_ping`` meanwhile.  Engines without a daemon
  are n/a.  Every engine gets max-size=20m,max-file=5 so no disk fills.
* ``log-throughput``: ``run -d`` of a container writing 1 GB to stdout, to its exit
  (each engine's default log settings; the files are removed with the container).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import threading
import time

import procs
from cases import containers, ms
from peers import IMAGE, Engine, EngineError

METRICS = [
    ("logs_tail_1g", "logs --tail 5 of a 1 GB log", "ms"),
    ("follow_rss_growth", "daemon RSS growth, 4x logs -f", "MB"),
    ("follow_ping_p99", "/_ping p99 during 4x logs -f", "ms"),
    ("log_1g_write", "container writing 1 GB stdout", "ms"),
]
GB = 1_000_000_000
LINE = "x" * 99
CAP = ("--log-opt", "max-size=20m", "--log-opt", "max-file=5")


def _fill(path: str, docker_format: bool) -> None:
    """About 1 GB of 100-byte lines in the engine's own format."""
    if docker_format:
        rec = json.dumps(
            {"log": LINE + "\n", "stream": "stdout", "time": "2026-01-01T00:00:00.000000001Z"}
        )
        block = ((rec + "\n") * 10000).encode()
        last = "".join(
            json.dumps({"log": f"last{i}\n", "stream": "stdout", "time": "2026-01-01T00:00:01Z"})
            + "\n"
            for i in range(5)
        ).encode()
    else:
        stamp = "2026-01-01T00:00:00.000000001+00:00 stdout F "
        block = ((stamp + LINE + "\n") * 10000).encode()
        last = "".join(f"{stamp}last{i}\n" for i in range(5)).encode()
    with open(path, "wb") as f:
        written = 0
        while written < GB:
            f.write(block)
            written += len(block)
        f.write(last)


def case_logs_tail(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    out: list[float] = []
    with containers(eng) as ids:
        # run once: dockerd and podman name the log file at start
        cid = eng.call("run", "-d", "--network", "none", IMAGE, "true").out.strip().splitlines()[-1]
        ids.append(cid)
        eng.call("wait", cid)
        info = eng.inspect([cid])[0]
        hc = info.get("HostConfig") or {}
        log_config = (hc.get("LogConfig") or {}) if isinstance(hc, dict) else {}
        path = str(info.get("LogPath") or log_config.get("Path") or "")  # podman: the latter
        if not path:
            raise EngineError(f"{eng.name}: no LogPath")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            _fill(path, path.endswith("-json.log"))  # dockerd's and cove's json-file
            for i in range(warmup + min(runs, 10)):
                r = eng.call("logs", "--tail", "5", cid)
                if r.out.split() != [f"last{i}" for i in range(5)]:
                    raise EngineError(f"{eng.name}: logs --tail 5 printed {r.out[-200:]!r}")
                if i >= warmup:
                    out.append(ms(r.seconds))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    return {"logs_tail_1g": out}


def _socket_path(eng: Engine) -> str:
    for key in ("COVE_HOST", "DOCKER_HOST"):
        v = eng.env.get(key, "")
        if v.startswith("unix://"):
            return v[len("unix://") :]
    return ""


def _ping_ms(path: str) -> float:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    t0 = time.monotonic()
    try:
        s.connect(path)
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        s.recv(64)
    except OSError:
        return 5000.0
    finally:
        s.close()
    return ms(time.monotonic() - t0)


def _pinger(sock: str, stop: threading.Event, samples: list[float]) -> None:
    while not stop.is_set():
        samples.append(_ping_ms(sock))
        time.sleep(0.02)


def _rss_mb(eng: Engine) -> float:
    return sum((procs.rss_kb(p) or 0) for p in eng.daemon_pids().values()) / 1024.0


def case_logs_follow(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    sock = _socket_path(eng)
    if not eng.has_daemon or not sock:
        return {}
    growth: list[float] = []
    pings: list[float] = []
    cmd = f"yes {LINE} | head -c {4 * GB}"
    for _ in range(max(1, min(runs, 2))):
        with containers(eng) as ids:
            r = eng.call("run", "-d", "--network", "none", *CAP, IMAGE, "sh", "-c", cmd)
            cid = r.out.strip().splitlines()[-1]
            ids.append(cid)
            time.sleep(1.0)
            base = _rss_mb(eng)
            clients = [
                subprocess.Popen(
                    eng.argv("logs", "-f", "--tail", "0", cid),
                    env=eng.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(4)
            ]
            peak, stop = base, threading.Event()
            samples: list[float] = []
            t = threading.Thread(target=_pinger, args=(sock, stop, samples))
            t.start()
            try:
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    peak = max(peak, _rss_mb(eng))
                    time.sleep(0.25)
            finally:
                stop.set()
                t.join()
                for c in clients:
                    c.kill()
                    c.wait()
            growth.append(peak - base)
            if len(samples) >= 10:
                pings.append(statistics.quantiles(samples, n=100)[98])
    return {"follow_rss_growth": growth, "follow_ping_p99": pings}


def case_log_throughput(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    out: list[float] = []
    cmd = f"yes {LINE} | head -c {GB}"
    for _ in range(max(1, min(runs, 2))):
        with containers(eng) as ids:
            t0 = time.monotonic()
            r = eng.call("run", "-d", "--network", "none", IMAGE, "sh", "-c", cmd)
            cid = r.out.strip().splitlines()[-1]
            ids.append(cid)
            w = eng.call("wait", cid, timeout=600)
            if w.out.strip() != "0":
                raise EngineError(f"{eng.name}: the writer exited with {w.out.strip()}")
            out.append(ms(time.monotonic() - t0))
    return {"log_1g_write": out}
