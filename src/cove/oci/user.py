"""``docker run -u`` resolution against the container's /etc/passwd and /etc/group.

Pure: the caller reads the two files out of the rootfs (None when a file is missing) and
passes their text.  The rules are runc's ``GetExecUser``, which dockerd uses:

* ``""`` means root; ``name``, ``uid``, ``name:group``, ``uid:gid`` and mixtures;
* a numeric uid missing from passwd is fine (gid 0, home ``/``); a missing name is an error;
* the primary gid comes from the passwd entry unless a group is given; a numeric group
  missing from /etc/group is fine, a missing group name is an error;
* supplementary groups (every group listing the user by name) apply only when no group
  was given explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cove.errors import InvalidArgument

MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class _Passwd:
    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True)
class _Group:
    name: str
    gid: int
    members: tuple[str, ...]


def _num(s: str) -> int | None:
    return int(s) if _DIGITS.fullmatch(s) else None


def _check_range(n: int) -> int:
    if n < 0 or n > MAX_ID:
        raise InvalidArgument(f"uids and gids must be in range 0-{MAX_ID}")
    return n


def _parse_passwd(text: str | None) -> list[_Passwd]:
    out: list[_Passwd] = []
    for line in (text or "").splitlines():
        parts = line.strip().split(":")
        if len(parts) < 4 or not parts[0] or parts[0].startswith("#"):
            continue
        uid, gid = _num(parts[2]), _num(parts[3])
        if uid is None or gid is None:
            continue
        home = parts[5] if len(parts) > 5 else ""
        out.append(_Passwd(parts[0], uid, gid, home))
    return out


def _parse_group(text: str | None) -> list[_Group]:
    out: list[_Group] = []
    for line in (text or "").splitlines():
        parts = line.strip().split(":")
        if len(parts) < 3 or not parts[0] or parts[0].startswith("#"):
            continue
        gid = _num(parts[2])
        if gid is None:
            continue
        members = tuple(m for m in (parts[3] if len(parts) > 3 else "").split(",") if m)
        out.append(_Group(parts[0], gid, members))
    return out


def _find_group(groups: list[_Group], ref: str) -> int:
    n = _num(ref)
    for g in groups:
        if (n is None and g.name == ref) or (n is not None and g.gid == n):
            return g.gid
    if n is None:
        raise InvalidArgument(f"unable to find group {ref}: no matching entries in group file")
    return _check_range(n)


def resolve_user(
    user: str,
    passwd: str | None,
    group: str | None,
    group_add: Sequence[str] = (),
) -> tuple[int, int, list[int], str]:
    """Return ``(uid, gid, additional_gids, home)`` for a ``-u`` value.

    ``additional_gids`` is what dockerd writes to ``process.user.additionalGids``: the
    primary gid, the supplementary groups, then the ``--group-add`` names or numbers.
    Raises InvalidArgument with runc's words."""
    user_part, _, group_part = user.partition(":")
    users = _parse_passwd(passwd)
    groups = _parse_group(group)

    uid, gid, home = 0, 0, "/"
    matched_name = ""
    uid_num = _num(user_part) if user_part else 0
    found = next(
        (
            u
            for u in users
            if (uid_num is None and u.name == user_part)
            or (uid_num is not None and u.uid == uid_num)
        ),
        None,
    )
    if found is not None:
        uid, gid, home, matched_name = found.uid, found.gid, found.home, found.name
    elif uid_num is None:
        raise InvalidArgument(
            f"unable to find user {user_part}: no matching entries in passwd file"
        )
    else:
        uid = _check_range(uid_num)

    extra: list[int] = []
    if group_part:
        gid = _find_group(groups, group_part)
    elif matched_name:
        extra = [g.gid for g in groups if matched_name in g.members]
    extra += [_find_group(groups, ref) for ref in group_add]
    # dockerd's getUser lists the primary gid first (since the CVE-2022-36109 fix), so it
    # is among the process' groups: `id` prints "groups=0(root),10(wheel)".
    return uid, gid, [gid, *extra], home or "/"
