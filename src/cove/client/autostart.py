"""Start ``coved`` in the background when nothing answers on the socket.

For root that is the system daemon; for anyone else the user's own ``coved --rootless``
(docs/rootless.md), when the socket is the one that daemon serves, with its log beside the
socket in the user's runtime directory.  ``COVE_NO_AUTOSTART=1`` turns both off.

Root starts the system daemon only for a socket it serves: the default socket, or
one named in ``/etc/cove/daemon.json``'s ``hosts``.  Any other socket (``COVE_HOST``, ``-H``)
belongs to a daemon with its own data root and flags that we cannot guess, so the command
says at once that nothing answers there (starting a bare ``coved`` for it would start a second
daemon on the system's data root, or wait for one that cannot start).

The daemon is detached into its own session with its output in ``/var/log/cove/coved.log``
(root);
we then poll ``/_ping`` for up to ~15 s, and stop waiting as soon as it exits.  On failure
nothing is undone: a daemon that is slow to come up keeps starting and the next command will
find it.
"""

from __future__ import annotations

import json
import os
import sys
import time

from cove.client.http import DEFAULT_HOST, connect_unix, read_response, send_request

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


def _rootless_plan(host: str) -> tuple[list[str], str] | None:
    """For a regular user: ``coved --rootless`` and its log file when ``host`` is the
    socket that daemon serves (docs/rootless.md); None otherwise."""
    if os.geteuid() == 0 or os.environ.get("COVE_NO_AUTOSTART") == "1":
        return None
    from cove.util.rootless_paths import private_runtime_dir, rootless_paths

    paths = rootless_paths()
    if os.path.normpath(_unix_path(host)) != os.path.normpath(paths.socket):
        return None
    try:
        private_runtime_dir(paths.runtime_dir)
    except OSError:
        return None
    return [*coved_command(), "--rootless"], os.path.join(paths.runtime_dir, "coved.log")


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
    rootless = _rootless_plan(client.host)
    if rootless is not None:
        argv, log_file = rootless
    elif allowed() and served_by_system_daemon(client.host):
        argv, log_file = coved_command(), LOG_FILE
        os.makedirs(LOG_DIR, exist_ok=True)
    else:
        return False
    import subprocess

    try:
        with open(log_file, "ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )
    except OSError:
        return False
    sys.stderr.write(f"cove: started coved in the background (log: {log_file})\n")
    sys.stderr.flush()
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if ping(client.path):
            return True
        if proc.poll() is not None:
            sys.stderr.write(
                f"cove: coved exited at start (see {log_file}){_last_words(log_file)}\n"
            )
            return False
        time.sleep(0.1)
    return False


def _last_words(log_file: str) -> str:
    """The daemon's own last line (``coved: ...``, e.g. the usermod command a user without
    subordinate ids needs), so the fix shows without opening the log."""
    try:
        with open(log_file, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
            lines = f.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    last = lines[-1].strip() if lines else ""
    return f": {last}" if last.startswith("coved: ") else ""
