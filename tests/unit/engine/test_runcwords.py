"""crun's "not found" restated as runc's words (issue 15, item 4)."""

from __future__ import annotations

from cove.engine.containers.runcwords import not_found_reason


def test_path_is_stat_error_name_is_path_lookup() -> None:
    crun = "executable file `{}` not found in $PATH: No such file or directory"
    assert not_found_reason(crun.format("/nonexistent")) == (
        'exec: "/nonexistent": stat /nonexistent: no such file or directory'
    )
    assert not_found_reason(crun.format("nosuch")) == (
        'exec: "nosuch": executable file not found in $PATH'
    )
    assert not_found_reason("open executable: Permission denied") is None
