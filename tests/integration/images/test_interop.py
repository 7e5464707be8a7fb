"""Archives between cove, dockerd 20.10, podman 4.3 and skopeo, both ways."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.daemon_fixture import Daemon
from tests.integration.images.peers import peer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def saved(daemon: Daemon, tmp_path_factory: pytest.TempPathFactory) -> str:
    if daemon.cove("image", "inspect", "busybox").returncode != 0:
        daemon.import_busybox()
    name = "it-interop-src"
    daemon.cove("rm", "-f", name)
    daemon.cove("run", "--name", name, "busybox", "sh", "-c", "echo hi > /etc/x; rm /bin/ls",
                check=True)  # fmt: skip
    daemon.cove("commit", "-m", "hotfix", name, "it-interop:1", check=True)
    daemon.cove("rm", name, check=True)
    path = str(tmp_path_factory.mktemp("interop") / "cove.tar")
    daemon.cove("save", "-o", path, "busybox", "it-interop:1", check=True)
    return path


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_cove_archive_loads_elsewhere_and_back(
    engine: str, saved: str, daemon: Daemon, tmp_path: object
) -> None:
    with peer(engine) as eng:
        with open(saved, "rb") as f:
            eng.call("load", input=f.read(), timeout=180)
        ref = "it-interop:1" if engine == "docker" else "localhost/it-interop:1"
        # no network: podman's default one leaves its CNI bridge and nft tables on the host
        argv = ["run", "--rm", "--network", "none", ref, "cat", "/etc/x"]
        assert eng.call(*argv, timeout=120).out.strip() == "hi"
        hist = eng.call("history", "--format", "{{.Comment}}", ref).out
        assert "hotfix" in hist
        back = os.path.join(str(tmp_path), f"{engine}.tar")
        extra = ["-m"] if engine == "podman" else []
        eng.call("save", *extra, "-o", back, "busybox", ref, timeout=180)
    daemon.cove("rmi", "it-interop:1")
    out = daemon.cove("load", "-i", back, check=True).stdout
    assert f"Loaded image: {ref}" in out
    assert daemon.cove("run", "--rm", ref, "cat", "/etc/x", check=True).stdout.strip() == "hi"
    if ref != "it-interop:1":
        daemon.cove("rmi", ref, "localhost/busybox")


@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive", "oci"])
def test_skopeo(transport: str, saved: str, daemon: Daemon, tmp_path: object) -> None:
    if not shutil.which("skopeo"):
        pytest.skip("skopeo is not installed")
    dest = os.path.join(str(tmp_path), "img")
    r = subprocess.run(["skopeo", "copy", f"docker-archive:{saved}:it-interop:1",
                        f"{transport}:{dest}:it-interop:sko"], capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    if transport == "oci":  # a layout directory: tar it up as an OCI archive
        subprocess.run(["tar", "-C", dest, "-cf", dest + ".tar", "."], check=True)
        dest += ".tar"
    out = daemon.cove("load", "-i", dest, check=True).stdout
    assert "Loaded image" in out
    names = daemon.cove("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    loaded = [n for n in names if "sko" in n]
    if loaded:
        assert daemon.cove("run", "--rm", loaded[0], "cat", "/etc/x",
                           check=True).stdout.strip() == "hi"  # fmt: skip
        daemon.cove("rmi", *loaded)
    # and skopeo reads cove's archive as an OCI layout too
    r = subprocess.run(["skopeo", "inspect", "--raw", f"oci-archive:{saved}:1"],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0 and json.loads(r.stdout)["schemaVersion"] == 2, r.stderr
