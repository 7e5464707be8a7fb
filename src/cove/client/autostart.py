"""Start ``coved`` in the background when nothing answers on the socket.

Only root may do this (the daemon needs it anyway), and ``COVE_NO_AUTOSTART=1`` turns it off.
The daemon is detached into its own session with its output in ``/var/log/cove/coved.log``;
we then poll ``/_ping`` for up to ~15 s.  On failure nothing is undone: a daemon that is slow
to come up keeps starting and the next command will find it.
"""

from __future__ import annotations

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
WAIT_SECONDS = 15.0


def coved_command(host: str) -> list[str]:
    """The daemon's argv: ``coved`` beside our interpreter, else on PATH."""
    exe = os.path.join(os.path.dirname(sys.executable), "coved")
    if not os.access(exe, os.X_OK):
        import shutil

        exe = shutil.which("coved") or "coved"
    argv = [exe]
    if host != DEFAULT_HOST:
        argv += ["--host", host]
    return argv


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
    """Start the daemon if allowed; True once it answers ``/_ping``."""
    if not allowed():
        return False
    import subprocess

    os.makedirs(LOG_DIR, exist_ok=True)
    try:
        with open(LOG_FILE, "ab") as log:
            subprocess.Popen(
                coved_command(client.host),
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
        time.sleep(0.1)
    return False
