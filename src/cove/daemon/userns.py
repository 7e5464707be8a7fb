"""``userns-remap``: the daemon's user-namespace map, read from /etc/subuid and /etc/subgid.

As dockerd does it:
- ``default`` means a system user ``cove-remap`` (dockerd's is ``dockremap``), created with
  ``useradd`` when missing, and given a range of 65536 ids in /etc/subuid and /etc/subgid
  (``usermod --add-subuids/--add-subgids``) past every range already there, from 100000 up;
- ``user`` or ``user:group`` (names or numbers) use the ranges those already have;
- container ids count up from 0 across the ranges in file order;
- state moves to ``<data-root>/<uid>.<gid>`` (uid and gid of the container's root on the
  host): images unpacked for one map are owned wrongly for any other, so each map keeps its
  own images, containers and volumes, and turning the option off finds the old ones again.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import shutil
import subprocess

from cove.errors import InvalidArgument, SystemError_
from cove.util.idmap import IdMap, from_subid

log = logging.getLogger("coved")

DEFAULT_USER = "cove-remap"
SUBUID = "/etc/subuid"
SUBGID = "/etc/subgid"
FIRST_ID = 100000
RANGE_SIZE = 65536


def read_ranges(path: str, name: str, numeric: int | None) -> list[tuple[int, int]]:
    """(start, count) of every line of ``path`` for ``name`` (or its number)."""
    keys = {name} | ({str(numeric)} if numeric is not None else set())
    out = []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        parts = line.strip().split(":")
        if len(parts) != 3 or parts[0] not in keys:
            continue
        if parts[1].isdigit() and parts[2].isdigit() and int(parts[2]) > 0:
            out.append((int(parts[1]), int(parts[2])))
    return out


def next_free_start(paths: tuple[str, ...] = (SUBUID, SUBGID)) -> int:
    """The first id past every range already handed out (never below 100000)."""
    end = FIRST_ID
    for path in paths:
        try:
            with open(path) as f:
                for line in f:
                    parts = line.strip().split(":")
                    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                        end = max(end, int(parts[1]) + int(parts[2]))
        except FileNotFoundError:
            continue
    return end


def _run(argv: list[str]) -> None:
    if shutil.which(argv[0]) is None:
        raise SystemError_(f"cannot set up userns-remap: {argv[0]} not found (Debian's passwd)")
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise SystemError_(f"cannot set up userns-remap: {' '.join(argv)}: {r.stderr.strip()}")


def ensure_default_user() -> None:
    """The ``cove-remap`` user and its subordinate ranges, made once."""
    try:
        pwd.getpwnam(DEFAULT_USER)
    except KeyError:
        _run(["useradd", "--system", "--shell", "/bin/false", "--no-create-home",
              "--user-group", DEFAULT_USER])  # fmt: skip
        log.info("created user %s for userns-remap", DEFAULT_USER)
    has_uids = read_ranges(SUBUID, DEFAULT_USER, None)
    has_gids = read_ranges(SUBGID, DEFAULT_USER, None)
    if has_uids and has_gids:
        return
    start = next_free_start()
    span = f"{start}-{start + RANGE_SIZE - 1}"
    argv = ["usermod"]
    argv += [] if has_uids else ["--add-subuids", span]
    argv += [] if has_gids else ["--add-subgids", span]
    _run([*argv, DEFAULT_USER])
    log.info("gave %s the subordinate ids %s for userns-remap", DEFAULT_USER, span)


def _user(text: str) -> tuple[str, int]:
    try:
        pw = pwd.getpwuid(int(text)) if text.isdigit() else pwd.getpwnam(text)
    except KeyError:
        raise InvalidArgument(f"Error during uid lookup for {text!r}: no such user") from None
    return pw.pw_name, pw.pw_uid


def _group(text: str) -> tuple[str, int]:
    try:
        gr = grp.getgrgid(int(text)) if text.isdigit() else grp.getgrnam(text)
    except KeyError:
        raise InvalidArgument(f"Error during gid lookup for {text!r}: no such group") from None
    return gr.gr_name, gr.gr_gid


def resolve(value: str) -> IdMap:
    """The map ``userns-remap`` names (creating ``cove-remap`` for ``default``)."""
    user, _, group = value.partition(":")
    if user == "default":
        if group:
            raise InvalidArgument("userns-remap: 'default' takes no group")
        ensure_default_user()
        user = group = DEFAULT_USER
    if not user:
        raise InvalidArgument(f"invalid userns-remap value: {value!r}")
    name, uid = _user(user)
    if group:
        gname, gid = _group(group)
    else:  # dockerd: the group of the user's name
        gname, gid = name, -1
        try:
            gid = grp.getgrnam(name).gr_gid
        except KeyError:
            pass
    uids = read_ranges(SUBUID, name, uid)
    if not uids:
        raise InvalidArgument(f"Can't create ID mappings: No subuid ranges found for user {name!r}")
    gids = read_ranges(SUBGID, gname, gid if gid >= 0 else None)
    if not gids:
        raise InvalidArgument(
            f"Can't create ID mappings: No subgid ranges found for group {gname!r}"
        )
    return from_subid(uids, gids)


def _check_reachable(data_root: str, uid: int, gid: int) -> None:
    """Every existing directory above the data root must let the remapped root through, or
    the runtime, working as that user, fails at every start: fail now, as dockerd does."""
    d = data_root
    while (d := os.path.dirname(d)) != "/":
        try:
            st = os.stat(d)
        except FileNotFoundError:
            continue
        bit = 0o100 if st.st_uid == uid else 0o010 if st.st_gid == gid else 0o001
        if not st.st_mode & bit:
            raise InvalidArgument(
                f"a subdirectory in your graphroot path ({data_root}) restricts access to the "
                "remapped root uid/gid; please fix by allowing 'o+x' permissions on existing "
                "directories"
            )


def remapped_root(data_root: str, idmap: IdMap) -> str:
    """``<data-root>/<uid>.<gid>``, both root:<gid> 0710 as dockerd makes them: the
    container's root may pass through to what is mounted for it, and list nothing."""
    uid, gid = idmap.root
    _check_reachable(os.path.abspath(data_root), uid, gid)
    os.makedirs(data_root, mode=0o710, exist_ok=True)
    os.chown(data_root, 0, gid)
    os.chmod(data_root, 0o710)
    path = os.path.join(data_root, f"{uid}.{gid}")
    os.makedirs(path, mode=0o710, exist_ok=True)
    os.chown(path, 0, gid)
    os.chmod(path, 0o710)
    return path
