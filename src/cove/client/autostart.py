"""Start ``coved`` in the background when nothing answers on the socket.

Only root may do this (the daemon needs it anyway), and ``COVE_NO_AUTOSTART=1`` turns it off.
Only the system daemon is started, and only for a socket it serves: the default socket, or
one named in ``/etc/cove/daemon.json``'s ``hosts``.  Any other socket (``COVE_HOST``, ``-H``)
belongs to a daemon with its own data root and flags that we cannot guess, so the command
says at once that nothing answers there (starting a bare ``coved`` for it would start a second
daemon on the system's data root, or wait for one that cannot start).

The daemon is detached into its own session with its output in ``/var/log/cove/coved.log``;
we then poll ``/_ping`` for up to ~15 s, and stop waiting as soon as it exits.  On failure
nothing is undone: a daemon that is slow to come up keeps starting and the next command will
find it.
"""

from __future__ import annotations

import json
import os
import sys
import time

from cove.client.api import DEFAULT_HOST
from cove.client.http import connect_unix, read_response, send_request

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.client.api import Client

LOG_DIR = "/var/log/cove"
LOG_FILE = LOG_DIR + "/coved.log"
CONFIG_FILE = "/etc/cove/daemon.json"
WAIT_SECONDS = 15.0


def _unix_path(host: str) -> str:
    return host[len("unix://") :] if host.startswith("unix://") else host


def served_by_system_daemon(host: str, config_file: str | None = None) -> bool:
    """Whether a bare ``coved`` (flags from its daemon.json only) would listen on ``host``."""
    hosts = [DEFAULT_HOST]
    try:
        with open(config_file or CONFIG_FILE) as f:
            cfg = json.load(f)
        if isinstance(cfg, dict) and isinstance(cfg.get("hosts"), list) and cfg["hosts"]:
            hosts = [str(h) for h in cfg["hosts"]]
    except (OSError, ValueError):
        pass
    sockets = {os.path.normpath(_unix_path(h)) for h in hosts if not h.startswith("tcp://")}
    return os.path.normpath(_unix_path(host)) in sockets


def coved_command() -> list[str]:
    """The daemon's argv: ``coved`` beside our interpreter, else on PATH; no flags, as the
    system daemon is started (its sockets come from daemon.json)."""
    exe = os.path.join(os.path.dirname(sys.executable), "coved")
    if not os.access(exe, os.X_OK):
        import shutil

        exe = shutil.which("coved") or "coved"
    return [exe]


def allowed() -> bool:
    return os.geteuid() == 0 and os.environ.get("COVE_NO_AUTOSTART") != "1"


def ping(path: str) -> bool:
    try:
        sock = connect_unix(path, timeout=2.0)
    except OSError:
        return False
    try:
        send_request(sock, "GET", "/_ping", [], None)
        return read_response(sock).status == 200
    except (OSError, Exception):
        return False
    finally:
        sock.close()


def maybe_start(client: Client) -> bool:
    """Start the system daemon if allowed and it serves the client's socket; True once it
    answers ``/_ping``, False at once otherwise or as soon as it exits."""
    if not allowed() or not served_by_system_daemon(client.host):
        return False
    import subprocess

    os.makedirs(LOG_DIR, exist_ok=True)
    try:
        with open(LOG_FILE, "ab") as log:
            proc = subprocess.Popen(
                coved_command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )
    except OSError:
        return False
    sys.stderr.write(f"cove: started coved in the background (log: {LOG_FILE})\n")
    sys.stderr.flush()
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if ping(client.path):
            return True
        if proc.poll() is not None:
            sys.stderr.write(f"cove: coved exited at start (see {LOG_FILE})\n")
            return False
        time.sleep(0.1)
    return False
