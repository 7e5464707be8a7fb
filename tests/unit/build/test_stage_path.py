"""A stage whose base has no PATH gets dockerd's default one (issue 15, item 6)."""

from __future__ import annotations

from cove.build.state import Stage, child_config, scratch_config

DEFAULT = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_scratch_and_imported_bases_get_the_default_path() -> None:
    assert Stage(0, None, None, scratch_config()).run["Env"] == [DEFAULT]
    imported = {"config": {"Env": None, "Cmd": ["sh"]}, "rootfs": {"diff_ids": ["sha256:x"]}}
    assert Stage(0, None, "sha256:b", child_config(imported)).run["Env"] == [DEFAULT]
    keeps = {"config": {"Env": ["A=1"]}}
    assert Stage(0, None, "sha256:b", child_config(keeps)).run["Env"] == ["A=1", DEFAULT]


def test_a_base_path_is_kept() -> None:
    own = {"config": {"Env": ["PATH=/opt/bin", "A=1"]}}
    assert Stage(0, None, "sha256:b", child_config(own)).run["Env"] == ["PATH=/opt/bin", "A=1"]
