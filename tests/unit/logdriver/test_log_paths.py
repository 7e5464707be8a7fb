"""Which file a container logs to: Docker's ``<id>-json.log`` for a new json-file
container, conmon's ``container.log`` for the other drivers, and for a container created
by an older cove (its record keeps that LogPath, and the k8s-file reader reads it)."""

from __future__ import annotations

from cove.engine.context import Paths
from cove.engine.logs import log_path_of, new_log_path
from cove.logdriver.options import LogPlan

PATHS = Paths("/data", "/exec")
CID = "c" * 64
CDIR = f"/data/containers/{CID}"


def test_new_containers() -> None:
    assert new_log_path(CDIR, CID, LogPlan("json-file")) == f"{CDIR}/{CID}-json.log"
    for driver in ("local", "k8s-file", "syslog", "journald", "none"):
        assert new_log_path(CDIR, CID, LogPlan(driver)) == f"{CDIR}/container.log"


def test_the_recorded_path_wins() -> None:
    assert log_path_of(PATHS, CID, {"LogPath": f"{CDIR}/{CID}-json.log"}).endswith("-json.log")
    # a container made by an older cove: its k8s-file, read as before
    assert log_path_of(PATHS, CID, {"LogPath": f"{CDIR}/container.log"}) == f"{CDIR}/container.log"
    assert log_path_of(PATHS, CID, {}) == f"{CDIR}/container.log"
    # a path outside the container's directory is never used
    assert log_path_of(PATHS, CID, {"LogPath": "/etc/shadow-json.log"}) == f"{CDIR}/container.log"
