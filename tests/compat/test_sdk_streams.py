"""The docker SDK's streamed logs item by item (its integration suite's
test_run_with_streamed_logs): each item is one line, as from dockerd."""

from __future__ import annotations

import uuid

import pytest

from tests.daemon_fixture import Daemon

docker = pytest.importorskip("docker")
pytestmark = pytest.mark.compat


def test_streamed_logs_come_a_line_at_a_time(daemon: Daemon) -> None:
    client = docker.DockerClient(base_url=daemon.host)
    try:
        name = f"streams-{uuid.uuid4().hex[:8]}"
        try:
            out = client.containers.run(
                "busybox", 'sh -c "echo hello && echo world"', stream=True, name=name
            )
            assert list(out) == [b"hello\n", b"world\n"]
        finally:
            client.api.remove_container(name, force=True)
        c = client.containers.run("busybox", ["sh", "-c", "echo a; echo b >&2"], detach=True)
        try:
            c.wait()
            assert list(c.logs(stream=True)) == [b"a\n", b"b\n"]
        finally:
            c.remove(force=True)
    finally:
        client.close()
