"""``-u`` resolution follows runc's GetExecUser and dockerd's getUser."""

from __future__ import annotations

import pytest

from cove.errors import InvalidArgument
from cove.oci.user import resolve_user

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
# a comment line
broken line
www-data:x:33:33:www-data:/var/www:/bin/false
alice:x:1000:1000:Alice:/home/alice:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = """root:x:0:
wheel:x:10:root,alice
audio:x:29:alice
alice:x:1000:
staff:x:50:
nogroup:x:65534:
"""


def test_default_is_root_with_its_groups() -> None:
    assert resolve_user("", PASSWD, GROUP) == (0, 0, [0, 10], "/root")


def test_name_gets_primary_and_supplementary_groups() -> None:
    assert resolve_user("alice", PASSWD, GROUP) == (1000, 1000, [1000, 10, 29], "/home/alice")
    assert resolve_user("nobody", PASSWD, GROUP) == (65534, 65534, [65534], "/home")


def test_numeric_uid_in_passwd_behaves_like_its_name() -> None:
    assert resolve_user("1000", PASSWD, GROUP) == (1000, 1000, [1000, 10, 29], "/home/alice")


def test_numeric_uid_missing_from_passwd_is_fine() -> None:
    assert resolve_user("4242", PASSWD, GROUP) == (4242, 0, [0], "/")
    assert resolve_user("4242", None, None) == (4242, 0, [0], "/")


def test_missing_name_is_an_error_in_runcs_words() -> None:
    with pytest.raises(InvalidArgument) as exc:
        resolve_user("ghost", PASSWD, GROUP)
    assert exc.value.message == "unable to find user ghost: no matching entries in passwd file"
    with pytest.raises(InvalidArgument):
        resolve_user("ghost", None, None)


def test_explicit_group_replaces_gid_and_drops_supplementary() -> None:
    assert resolve_user("alice:staff", PASSWD, GROUP) == (1000, 50, [50], "/home/alice")
    assert resolve_user("alice:50", PASSWD, GROUP) == (1000, 50, [50], "/home/alice")
    assert resolve_user("1000:4444", PASSWD, GROUP) == (1000, 4444, [4444], "/home/alice")
    assert resolve_user("77:88", None, None) == (77, 88, [88], "/")


def test_missing_group_name_is_an_error() -> None:
    with pytest.raises(InvalidArgument) as exc:
        resolve_user("alice:ghosts", PASSWD, GROUP)
    assert exc.value.message == "unable to find group ghosts: no matching entries in group file"


def test_group_add_appends_names_and_numbers() -> None:
    uid, gid, gids, _ = resolve_user("nobody", PASSWD, GROUP, ["staff", "123"])
    assert (uid, gid, gids) == (65534, 65534, [65534, 50, 123])
    with pytest.raises(InvalidArgument):
        resolve_user("nobody", PASSWD, GROUP, ["ghosts"])


def test_out_of_range_ids() -> None:
    with pytest.raises(InvalidArgument) as exc:
        resolve_user("4294967296", None, None)
    assert "uids and gids must be in range" in exc.value.message
    with pytest.raises(InvalidArgument):
        resolve_user("0:4294967296", None, None)


def test_missing_home_field_defaults_to_root_dir() -> None:
    assert resolve_user("x", "x:x:5:5", None) == (5, 5, [5], "/")
