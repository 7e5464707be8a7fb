"""Autostart end to end with a stand-in daemon (a tiny Python server answering /_ping)."""

from __future__ import annotations

import os
import signal
import sys
import textwrap

import pytest

from cove.client import autostart
from cove.client.api import Client

FAKE_DAEMON = textwrap.dedent(
    """
    import os, socket, sys
    path = sys.argv[1]
    with open(sys.argv[2], "w") as f:
        f.write(str(os.getpid()))
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(4)
    while True:
        c, _ = s.accept()
        c.recv(65536)
        c.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nOK")
        c.close()
    """
)


def test_autostart_starts_and_waits(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = os.fspath(tmp_path)
    sock, pidfile = f"{base}/d.sock", f"{base}/d.pid"
    monkeypatch.setattr(autostart, "allowed", lambda: True)
    monkeypatch.setattr(autostart, "LOG_DIR", base)
    monkeypatch.setattr(autostart, "LOG_FILE", f"{base}/coved.log")
    monkeypatch.setattr(autostart, "served_by_system_daemon", lambda host: True)
    monkeypatch.setattr(
        autostart, "coved_command", lambda: [sys.executable, "-c", FAKE_DAEMON, sock, pidfile]
    )
    client = Client(f"unix://{sock}")
    try:
        resp = client.open("GET", "/_ping")
        assert resp.read() == b"OK"
        resp.close()
        err = capsys.readouterr().err
        assert err == f"cove: started coved in the background (log: {base}/coved.log)\n"
    finally:
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                os.kill(int(f.read()), signal.SIGTERM)
