"""Edge module: pasta (Debian ``passt``) as a rootless daemon's user-mode network.

pasta joins the daemon's user and network namespaces, gives the namespace an interface
with the name and addresses slirp4netns uses (tap0, 10.0.2.100/24, gateway 10.0.2.2, so
the rest of the daemon does not care which one runs) and turns its packets into the
user's socket calls on the host.  It maps connections onto host sockets without a full
user-mode TCP/IP stack, which is why rootless Podman prefers it to slirp4netns.
As with slirp4netns under rootless Docker, the gateway is not mapped to the host's
loopback (``--no-map-gw``) and nothing is forwarded from the namespace to the host's
ports (``-T none -U none``).

Published ports: pasta has no API to add a forwarding while it runs, and the automatic
mode of Debian 12's build (2023-03) binds only the ports the namespace listens on when it
starts; network/portdriver.py's helper publishes them instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from cove.errors import CoveError

ADDR, PREFIX, GATEWAY = "10.0.2.100", "24", "10.0.2.2"
MTU = 65520


def start(pid: int, exit_r: int, pidfile: str) -> int:
    """Attach pasta to the namespaces of ``pid``; returns pasta's pid once the namespace's
    interface is configured.  A small watcher ends pasta when every writer of the pipe
    ``exit_r`` has closed it (the namespaces' holder, daemon/rootless_ns.py)."""
    exe = shutil.which("pasta") or "pasta"
    with_dir = os.path.dirname(pidfile)
    os.makedirs(with_dir, exist_ok=True)
    if os.path.exists(pidfile):
        os.unlink(pidfile)
    argv = [exe, "--config-net", "-q", "-e", "-I", "tap0", "-a", ADDR, "-n", PREFIX, "-g", GATEWAY,
            "-m", str(MTU), "--no-map-gw", "-t", "none", "-u", "none", "-T", "none",
            "-U", "none", "-P", pidfile, str(pid)]  # fmt: skip
    # pasta goes to the background once the namespace is set up: its exit is the signal
    res = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    try:
        with open(pidfile) as f:
            pasta = int(f.read().strip())
    except (OSError, ValueError):
        pasta = 0
    if res.returncode != 0 or pasta <= 0:
        text = (res.stderr or res.stdout).decode(errors="replace").strip()
        raise CoveError(f"pasta failed: {text or f'exit status {res.returncode}'}")
    # the watcher: reads the exit pipe to its end (the holder's exit), then stops pasta
    subprocess.Popen(
        ["/bin/sh", "-c", f"cat >/dev/null; kill {pasta} 2>/dev/null"],
        stdin=exit_r,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return pasta
