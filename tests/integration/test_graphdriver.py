"""GraphDriver.Data in container inspect: overlay2's directories as dockerd lists them, which
tools read to look into a container's files from the host."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.integration


def test_overlay_dirs_in_inspect(daemon: Daemon) -> None:
    name = "gd" + uuid.uuid4().hex[:8]
    r = daemon.cove(
        "run",
        "-d",
        "--name",
        name,
        "busybox",
        "sh",
        "-c",
        "echo made > /made-here && exec sleep 300",
    )
    assert r.returncode == 0, r.stderr
    try:
        info = json.loads(daemon.cove("inspect", name, check=True).stdout)[0]
        graph = info["GraphDriver"]
        if graph["Name"] != "overlay2":
            assert graph["Data"] is None  # the copy-based driver, as dockerd's vfs
            return
        data = graph["Data"]
        assert set(data) == {"LowerDir", "MergedDir", "UpperDir", "WorkDir"}
        assert all(os.path.isdir(d) for d in data["LowerDir"].split(":"))
        wait = "for i in $(seq 100); do [ -e /made-here ] && exit 0; sleep 0.1; done; exit 1"
        daemon.cove("exec", name, "sh", "-c", wait, check=True)
        with open(os.path.join(data["UpperDir"], "made-here")) as f:
            assert f.read() == "made\n"
        assert os.path.isfile(os.path.join(data["MergedDir"], "bin", "busybox"))
        assert os.path.isdir(data["WorkDir"])
    finally:
        daemon.cove("rm", "-f", name)
