"""commit, diff, export, save, load, history, rmi and prune against a real coved."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile

import pytest

from tests.daemon_fixture import Daemon


@pytest.fixture(scope="module")
def busybox(daemon: Daemon) -> str:
    if daemon.cove("image", "inspect", "busybox").returncode != 0:
        daemon.import_busybox()
    return "busybox"


def _run(daemon: Daemon, *args: str, input: bytes | None = None) -> bytes:
    r = subprocess.run([_cove(), *args], input=input,
                       capture_output=True, env=daemon.env, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def _cove() -> str:
    from tests.daemon_fixture import tool

    return tool("cove")


def test_commit_diff_and_run(daemon: Daemon, busybox: str) -> None:
    name = "it-commit-src"
    daemon.cove("rm", "-f", name)
    script = "echo hi > /etc/x; rm /bin/ls; mkdir -p /a/b; touch /a/b/c"
    daemon.cove("run", "--name", name, busybox, "sh", "-c", script, check=True)
    try:
        diff = daemon.cove("diff", name, check=True).stdout.split("\n")
        assert "A /etc/x" in diff and "D /bin/ls" in diff and "A /a/b/c" in diff
        assert not any("hosts" in d or "resolv" in d for d in diff)
        out = daemon.cove("commit", "-a", "ops", "-m", "hotfix", "-c", "ENV MODE=prod",
                          "-c", 'CMD ["sh","-c","cat /etc/x; echo $MODE"]', name,
                          "it-app:hotfix", check=True).stdout.strip()  # fmt: skip
        assert out.startswith("sha256:")
        run = daemon.cove("run", "--rm", "it-app:hotfix", check=True).stdout
        assert run.split() == ["hi", "prod"]
        assert daemon.cove("run", "--rm", "it-app:hotfix", "ls", "/bin/ls").returncode != 0
        info = json.loads(daemon.cove("image", "inspect", "it-app:hotfix", check=True).stdout)[0]
        base = json.loads(daemon.cove("image", "inspect", busybox, check=True).stdout)[0]
        assert info["Author"] == "ops" and info["Comment"] == "hotfix"
        assert info["Parent"] == base["Id"]
        assert info["RootFS"]["Layers"][:-1] == base["RootFS"]["Layers"]  # shared layers
        hist = daemon.cove("history", "--no-trunc", "it-app:hotfix", check=True).stdout
        assert "hotfix" in hist and base["Id"] in hist
        # the parent cannot go while a child needs it
        r = daemon.cove("rmi", base["Id"])
        assert r.returncode != 0 and "dependent child images" in r.stderr
    finally:
        daemon.cove("rm", "-f", name)
        daemon.cove("rmi", "it-app:hotfix")


def test_commit_running_container_paused(daemon: Daemon, busybox: str) -> None:
    name = "it-commit-running"
    daemon.cove("rm", "-f", name)
    daemon.cove("run", "-d", "--name", name, busybox, "sh", "-c", "touch /tmp/zz; sleep 100",
                check=True)  # fmt: skip
    try:
        for _ in range(50):
            if "A /tmp/zz" in daemon.cove("diff", name).stdout:
                break
        image_id = daemon.cove("commit", name, check=True).stdout.strip()
        state = json.loads(daemon.cove("inspect", name, check=True).stdout)[0]["State"]
        assert state["Running"] and not state["Paused"]
        assert daemon.cove("run", "--rm", image_id, "ls", "/tmp/zz").returncode == 0
        daemon.cove("rmi", image_id, check=True)
    finally:
        daemon.cove("rm", "-f", name)


def test_export_is_a_flat_rootfs(daemon: Daemon, busybox: str) -> None:
    name = "it-export"
    daemon.cove("rm", "-f", name)
    daemon.cove("create", "--name", name, busybox, "true", check=True)
    try:
        data = _run(daemon, "export", name)
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            names = set(tf.getnames())
        assert "bin/busybox" in names
        out = _run(daemon, "import", "-", "it-flat:1", input=data).decode()
        assert out.strip().startswith("sha256:")
        assert daemon.cove("run", "--rm", "it-flat:1", "true").returncode == 0
    finally:
        daemon.cove("rm", "-f", name)
        daemon.cove("rmi", "it-flat:1")


def test_save_load_round_trip(daemon: Daemon, busybox: str, tmp_path: object) -> None:
    daemon.cove("tag", busybox, "it-save:a", check=True)
    daemon.cove("tag", busybox, "it-save:b", check=True)
    path = os.path.join(str(tmp_path), "out.tar")
    daemon.cove("save", "-o", path, "it-save:a", "it-save:b", check=True)
    with tarfile.open(path) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
        index = json.load(tf.extractfile("index.json"))  # type: ignore[arg-type]
    assert manifest[0]["RepoTags"] == ["it-save:a", "it-save:b"]
    assert len(index["manifests"]) == 2
    daemon.cove("rmi", "it-save:a", "it-save:b", check=True)
    out = daemon.cove("load", "-i", path, check=True).stdout
    assert "Loaded image: it-save:a" in out and "Loaded image: it-save:b" in out
    # stdin, gzip-compressed
    import gzip

    with open(path, "rb") as f:
        gz = gzip.compress(f.read(), 1)
    daemon.cove("rmi", "it-save:b", check=True)
    out = _run(daemon, "load", input=gz).decode()
    assert "Loaded image: it-save:b" in out
    daemon.cove("rmi", "it-save:a", "it-save:b", check=True)


def test_truncated_archive_leaves_nothing(daemon: Daemon, busybox: str, tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "full.tar")
    daemon.cove("tag", busybox, "it-trunc:1", check=True)
    daemon.cove("save", "-o", path, "it-trunc:1", check=True)
    daemon.cove("rmi", "it-trunc:1", check=True)
    before = daemon.cove("images", "-aq", "--no-trunc", check=True).stdout
    with open(path, "rb") as f:
        data = f.read()
    r = subprocess.run([_cove(), "load"], input=data[: len(data) // 2], capture_output=True,
                       env=daemon.env, timeout=60)  # fmt: skip
    assert r.returncode != 0 and b"unexpected EOF" in r.stderr
    assert daemon.cove("images", "-aq", "--no-trunc", check=True).stdout == before
    assert os.listdir(os.path.join(daemon.data_root, "ingest")) == []


def test_prune_and_df(daemon: Daemon, busybox: str) -> None:
    name = "it-prune"
    daemon.cove("rm", "-f", name)
    daemon.cove("create", "--name", name, busybox, "true", check=True)
    try:
        image_id = daemon.cove("commit", "-c", "LABEL prune=me", name, check=True).stdout.strip()
        out = daemon.cove("image", "prune", "-f", "--filter", "label=prune=me", check=True).stdout
        assert f"deleted: {image_id}" in out and "Total reclaimed space" in out
        df = daemon.cove("system", "df", check=True).stdout
        assert df.startswith("TYPE") and "Images" in df
    finally:
        daemon.cove("rm", "-f", name)
