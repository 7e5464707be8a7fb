"""The image config of ``docker commit``: changes, merge with the container, history."""

from __future__ import annotations

from cove.image.commit import commit_config, merge_config

BASE = {
    "architecture": "arm64",
    "os": "linux",
    "config": {"Cmd": ["sh"]},
    "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "base"}],
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64]},
}
CONTAINER = {
    "Hostname": "abc", "User": "nobody", "Env": ["PATH=/bin", "A=1"], "Cmd": ["sh", "-c", "x"],
    "Labels": {"l": "1"}, "WorkingDir": "/w", "ExposedPorts": {"80/tcp": {}},
}  # fmt: skip


def test_commit_without_body_keeps_the_container_config_and_applies_changes() -> None:
    cfg = commit_config(
        BASE, CONTAINER, container_id="c" * 64, user_config=None,
        changes=["ENV MODE=prod", 'CMD ["/app"]', "EXPOSE 443"], diff_id="sha256:" + "b" * 64,
        author="ops", comment="hotfix", created="2025-01-01T00:00:00Z",
    )  # fmt: skip
    c = cfg["config"]
    assert c["Hostname"] == "abc" and c["User"] == "nobody" and c["Cmd"] == ["/app"]
    assert c["Env"] == ["PATH=/bin", "A=1", "MODE=prod"]
    assert set(c["ExposedPorts"]) == {"80/tcp", "443/tcp"}
    assert cfg["architecture"] == "arm64" and cfg["author"] == "ops"
    assert cfg["comment"] == "hotfix" and cfg["container"] == "c" * 64
    assert cfg["rootfs"]["diff_ids"] == ["sha256:" + "a" * 64, "sha256:" + "b" * 64]
    assert cfg["history"][-1] == {
        "created": "2025-01-01T00:00:00Z", "author": "ops", "created_by": "sh -c x",
        "comment": "hotfix",
    }  # fmt: skip
    assert BASE["history"] == [{"created": "2024-01-01T00:00:00Z", "created_by": "base"}]


def test_empty_diff_adds_no_layer() -> None:
    cfg = commit_config(BASE, CONTAINER, container_id="c", user_config={}, changes=[],
                        diff_id=None)  # fmt: skip
    assert cfg["rootfs"]["diff_ids"] == BASE["rootfs"]["diff_ids"]
    assert cfg["history"][-1]["empty_layer"] is True
    # An empty body (docker-py): only the merged fields come from the container.
    assert "Hostname" not in cfg["config"] and cfg["config"]["WorkingDir"] == "/w"


def test_merge_user_wins() -> None:
    out = merge_config({"Env": ["A=2"], "Labels": {"l": "2"}, "Entrypoint": ["/e"]}, CONTAINER)
    assert out["Env"] == ["A=2", "PATH=/bin"]
    assert out["Labels"] == {"l": "2"} and out["Entrypoint"] == ["/e"] and "Cmd" not in out
