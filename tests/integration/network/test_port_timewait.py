"""A host port that only TIME_WAIT sockets hold can be published (as dockerd's
docker-proxy binds with SO_REUSEADDR); a port with a live listener is refused as before."""

from __future__ import annotations

import socket
import subprocess

import pytest

from tests.daemon_fixture import Daemon
from tests.integration.network.conftest import free_port, unique

pytestmark = pytest.mark.integration


def _time_wait(port: int) -> None:
    """Leave a TIME_WAIT socket on 127.0.0.1:port: the side that closes first (here the
    server's accepted socket, bound to the port) keeps it."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    cli = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn, _ = srv.accept()
    srv.close()
    conn.close()  # active close: conn's end goes to TIME_WAIT once cli closes
    cli.recv(1)
    cli.close()
    out = subprocess.run(
        ["ss", "-Htan", "state", "time-wait", f"( sport = :{port} )"],
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert f":{port}" in out, "the test could not make a TIME_WAIT socket"
    # a plain bind (what the reservation used to do) fails on such a port
    probe = socket.socket()
    with pytest.raises(OSError):
        probe.bind(("0.0.0.0", port))
    probe.close()


def test_time_wait_port_can_be_published(daemon: Daemon) -> None:
    port, name = free_port(), unique("tw")
    _time_wait(port)
    try:
        r = daemon.cove("run", "-d", "--name", name, "-p", f"{port}:80", "busybox",
                        "sleep", "60")  # fmt: skip
        assert r.returncode == 0, r.stderr
        # and the port is held now: a second container cannot take it
        r2 = daemon.cove("run", "-d", "--name", name + "b", "-p", f"{port}:80", "busybox",
                         "sleep", "60")  # fmt: skip
        assert r2.returncode == 125
        assert f"Bind for 0.0.0.0:{port} failed: port is already allocated" in r2.stderr
    finally:
        daemon.cove("rm", "-f", name, name + "b")


def test_listening_port_is_refused(daemon: Daemon) -> None:
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # even a reusable listener
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port, name = holder.getsockname()[1], unique("tw")
    try:
        r = daemon.cove("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", "busybox",
                        "sleep", "60")  # fmt: skip
        assert r.returncode == 125, r.stdout
        assert f"Bind for 127.0.0.1:{port} failed: port is already allocated" in r.stderr
    finally:
        holder.close()
        daemon.cove("rm", "-f", name)
