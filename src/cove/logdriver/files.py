"""A container log's files on disk and the moves that rotate them.

``<log>`` is the live file conmon appends to; ``<log>.1`` is the newest rotated generation,
``<log>.2`` the one before, and so on (``.gz`` when compressed), as Docker names them.
``<log>.keep`` is a second name (a hard link) for the live file: when conmon reaches
``--log-size-max`` it renames a fresh file over ``<log>``, and the old content survives
under that link until the keeper moves it to ``<log>.1``.  A generation waiting to be moved
is ``<log>.pending.<n>``.  Every move is a rename, so a reader that holds a file open keeps
reading it; a reader only lists ``<log>`` and ``<log>.<n>[.gz]``.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import shutil
import time

from cove.errors import InvalidArgument
from cove.logdriver.options import LogPlan

JOURNAL_SOCKET = "/run/systemd/journal/socket"


def keep_name(path: str) -> str:
    return path + ".keep"


def rotated_name(path: str, k: int, gz: bool = False) -> str:
    return f"{path}.{k}" + (".gz" if gz else "")


def generations(path: str) -> list[tuple[int, str, bool]]:
    """The rotated files, newest first: (k, file, compressed).  When a file and its
    compressed copy both exist (compression in progress), the plain one counts."""
    d, base = os.path.split(path)
    pattern = re.compile(re.escape(base) + r"\.(\d+)(\.gz)?$")
    found: dict[int, tuple[str, bool]] = {}
    try:
        names = os.listdir(d or ".")
    except FileNotFoundError:
        return []
    for name in names:
        m = pattern.match(name)
        if not m:
            continue
        k, gz = int(m.group(1)), bool(m.group(2))
        if k in found and not found[k][1]:
            continue
        found[k] = (os.path.join(d, name), gz)
    return [(k, f, gz) for k, (f, gz) in sorted(found.items())]


def readable(path: str) -> list[tuple[str, bool]]:
    """Every file of the log before the live one, oldest first: the rotated generations,
    then those waiting to be shifted in (a previous run set aside at a start, a rotation the
    keeper has not moved yet): (file, compressed)."""
    d, base = os.path.split(path)
    waiting = []
    with contextlib.suppress(FileNotFoundError):
        prefix = base + ".pending."
        waiting = sorted(n for n in os.listdir(d or ".") if n.startswith(prefix))
    older = [(f, gz) for _k, f, gz in reversed(generations(path))]
    return older + [(os.path.join(d, n), False) for n in waiting]


def shift_in(path: str, pending: str, max_file: int) -> str | None:
    """Make ``pending`` the newest rotated generation ``<log>.1``: older ones move up one,
    and those past ``max_file - 1`` go.  Returns the new ``<log>.1`` (None when
    ``max_file`` keeps no rotated file and ``pending`` was dropped)."""
    keep = max_file - 1
    for k, f, gz in reversed(generations(path)):
        if k >= keep:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.rename(f, rotated_name(path, k + 1, gz))
            if gz:  # a half-made sibling would shadow the moved one
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(rotated_name(path, k))
    if keep < 1:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pending)
        return None
    first = rotated_name(path, 1)
    os.rename(pending, first)
    return first


def set_aside(path: str) -> None:
    """Before a monitor starts again: what the previous run left in the live file becomes
    ``<log>.pending.<time>``, for the keeper to shift in (conmon's size count starts at 0, so
    the live file must start empty); its ``.keep`` name and a link to it go."""
    live = os.path.realpath(path)
    keep = keep_name(path)
    try:
        if os.stat(keep).st_ino == os.stat(live).st_ino:
            os.unlink(keep)  # the same file: kept once, below
    except FileNotFoundError:
        pass
    try:
        if os.path.getsize(live) > 0:
            os.rename(live, f"{path}.pending.{time.time_ns()}")
    except FileNotFoundError:
        pass
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # the file set aside, or a link to it


def hold_live(path: str) -> None:
    """Give the live file its ``.keep`` name, and lay out conmon's next file: ``<log>.tmp``
    a symbolic link to a fresh ``<log>.gen.<time>`` (conmon opens that name, creating the
    target, then renames the link over the log)."""
    keep = keep_name(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(keep)
    with contextlib.suppress(FileNotFoundError, FileExistsError):
        # link(2) itself never follows a symbolic link (Python's os.link calls it)
        os.link(os.path.realpath(path), keep)
    tmp = path + ".tmp"
    if not os.path.lexists(tmp):
        target = f"{os.path.basename(path)}.gen.{time.time_ns()}"
        with contextlib.suppress(FileExistsError):  # conmon made its own meanwhile
            os.symlink(target, tmp)


def compress(plain: str) -> None:
    """``<log>.k`` -> ``<log>.k.gz``: written aside, renamed into place, then the plain file
    goes, so a reader always finds one whole copy.  A file moved meanwhile is left as is."""
    tmp = plain + ".gz.tmp"
    try:
        with (
            open(plain, "rb") as src,
            open(tmp, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz,
        ):
            shutil.copyfileobj(src, gz, 1 << 20)
        os.replace(tmp, plain + ".gz")
        os.unlink(plain)
    except FileNotFoundError:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def journal_running() -> bool:
    return os.path.exists(JOURNAL_SOCKET)


def disk_usage(path: str) -> int:
    """Bytes the log takes, every generation included (tests and bench)."""
    d, base = os.path.split(path)
    total, seen = 0, set()
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(d or "."):
            if name == base or name.startswith(base + "."):
                with contextlib.suppress(FileNotFoundError):
                    st = os.stat(os.path.join(d, name))
                    if st.st_ino not in seen:
                        seen.add(st.st_ino)
                        total += st.st_blocks * 512
    return total


def check_available(plan: LogPlan) -> None:
    """What a driver needs from this host, checked when a container is created (dockerd
    finds out at start; the words are its)."""
    if plan.driver == "journald" and not journal_running():
        raise InvalidArgument(
            "failed to initialize logging driver: journald is not enabled on this host"
        )
    if plan.driver == "syslog":
        proto, _, rest = plan.syslog_address.partition("://")
        if proto in ("unix", "unixgram") and not os.path.exists(rest):
            raise InvalidArgument(f"stat {rest}: no such file or directory")
