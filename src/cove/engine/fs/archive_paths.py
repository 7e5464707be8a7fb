"""A container's filesystem as its processes see it, reached safely from the host.

``RootView`` is the container's root directory plus its mounts (destination -> host
source), walked the way the kernel would inside the container, but by the daemon: every
component is opened with O_NOFOLLOW relative to its parent's descriptor, and symlinks are
read and re-resolved by us with the container's root as "/" (``..`` stops at the root).
So a symlink planted by the container (``/data -> /``, ``x -> ../../../etc``) can never
lead a ``cp``, a copy-up or a volume path to the host's files: the CVE-2018-15664 class.
A component that turns into a symlink between our check and our use (a race) makes the
operation fail instead of following it.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from cove.errors import InvalidArgument

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_LINKS = 40


def split(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


def join(comps: list[str]) -> str:
    return "/" + "/".join(comps)


@dataclass(frozen=True)
class ViewMount:
    destination: str  # clean absolute path in the container
    source: str  # host path: a directory or, for /etc/hosts and friends, a file
    ro: bool = False


class RootView:
    def __init__(
        self, root_fd: int, mounts: list[ViewMount], ro_root: bool = False, live: bool = False
    ) -> None:
        self.root_fd = root_fd  # borrowed: the caller closes it
        self.mounts = {m.destination: m for m in mounts}
        self.ro_root = ro_root
        # live: root_fd is a running container's /proc/<pid>/root; the kernel crosses its
        # mounts (tmpfs included) and tells which of them are read-only
        self.live = live

    # --- mounts -----------------------------------------------------------------------------
    def mount_at(self, comps: list[str]) -> ViewMount | None:
        return self.mounts.get(join(comps)) if comps else None

    def mounts_below(self, comps: list[str]) -> set[str]:
        """Names of the mount points directly inside ``comps`` (present or not below)."""
        n = len(comps)
        return {split(d)[n] for d in self.mounts if len(split(d)) == n + 1
                and split(d)[:n] == comps}  # fmt: skip

    def read_only(self, comps: list[str]) -> str | None:
        """Why nothing may be written at ``comps`` (a directory, or a path to be created
        below one): dockerd's words for a read-only volume or root; None when writable."""
        if self.live:
            return self._live_read_only(comps)
        for n in range(len(comps), 0, -1):
            m = self.mount_at(comps[:n])
            if m is not None:
                return "mounted volume is marked read-only" if m.ro else None
        return "container rootfs is marked read-only" if self.ro_root else None

    def _live_read_only(self, comps: list[str]) -> str | None:
        for n in range(len(comps), -1, -1):
            try:
                fd = self.open_dir(comps[:n])
            except (OSError, InvalidArgument):
                continue
            try:
                if not os.fstatvfs(fd).f_flag & os.ST_RDONLY:
                    return None
                on_root = os.fstat(fd).st_dev == os.fstat(self.root_fd).st_dev
            finally:
                os.close(fd)
            if on_root:
                return "container rootfs is marked read-only"
            return "mounted volume is marked read-only"
        return None

    # --- opening ----------------------------------------------------------------------------
    def open_dir(self, comps: list[str]) -> int:
        """A new fd of the directory at the symlink-free logical path ``comps``."""
        fd = os.dup(self.root_fd)
        try:
            for i, name in enumerate(comps):
                m = self.mount_at(comps[: i + 1])
                if m is not None:
                    nfd = os.open(m.source, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                else:
                    try:
                        nfd = os.open(name, _DIR, dir_fd=fd)
                    except OSError as e:
                        if e.errno == errno.ELOOP:
                            raise InvalidArgument(
                                f"{join(comps[: i + 1])} changed into a symlink, refusing to "
                                "follow it"
                            ) from None
                        raise
                os.close(fd)
                fd = nfd
        except BaseException:
            os.close(fd)
            raise
        return fd

    def lstat(self, comps: list[str]) -> os.stat_result:
        """lstat of the logical path (a mount point reports its source)."""
        m = self.mount_at(comps)
        if m is not None:
            return os.stat(m.source)
        if not comps:
            return os.fstat(self.root_fd)
        pfd = self.open_dir(comps[:-1])
        try:
            return os.lstat(comps[-1], dir_fd=pfd)
        finally:
            os.close(pfd)

    def readlink(self, comps: list[str]) -> str:
        pfd = self.open_dir(comps[:-1])
        try:
            return os.readlink(comps[-1], dir_fd=pfd)
        finally:
            os.close(pfd)

    # --- resolving --------------------------------------------------------------------------
    def resolve(self, path: str, follow: bool = True) -> list[str]:
        """The symlink-free logical path of ``path`` (absolute in the container); the last
        component is followed only when ``follow``.  Missing components are kept as
        written (so callers can report or create them); NotFound-free."""
        todo = list(reversed(split(path)))
        cur: list[str] = []
        hops = 0
        missing = False
        while todo:
            name = todo.pop()
            if name == ".":
                continue
            if name == "..":
                if cur:
                    cur.pop()
                continue
            cand = [*cur, name]
            if missing or self.mount_at(cand) is not None:
                cur = cand
                continue
            try:
                st = self.lstat(cand)
            except (FileNotFoundError, NotADirectoryError):
                missing = True
                cur = cand
                continue
            if stat.S_ISLNK(st.st_mode) and (todo or follow):
                hops += 1
                if hops > MAX_LINKS:
                    raise InvalidArgument(f"too many levels of symbolic links: {path}")
                target = self.readlink(cand)
                if target.startswith("/"):
                    cur = []
                todo.extend(reversed(split(target)))
                continue
            cur = cand
        return cur

    def read_text(self, comps: list[str], limit: int = 1 << 20) -> str | None:
        """A small regular file's text (/etc/passwd), None when absent or not a file."""
        if not comps:
            return None
        try:
            pfd = self.open_dir(comps[:-1])
        except (OSError, InvalidArgument):
            return None
        try:
            fd = os.open(comps[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=pfd)  # fmt: skip
        except OSError:
            return None
        finally:
            os.close(pfd)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return os.read(fd, limit).decode("utf-8", "replace")
        finally:
            os.close(fd)

    def exists(self, comps: list[str]) -> bool:
        try:
            self.lstat(comps)
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    def _underneath_exists(self, comps: list[str]) -> bool:
        """Whether the root (or an outer mount) has an entry where ``comps`` is mounted."""
        try:
            pfd = self.open_dir(comps[:-1])
        except OSError:
            return False
        try:
            os.lstat(comps[-1], dir_fd=pfd)
        except OSError:
            return False
        finally:
            os.close(pfd)
        return True

    def makedirs(self, comps: list[str], mode: int = 0o755) -> None:
        """Create the missing directories of the symlink-free path ``comps``."""
        for i in range(len(comps)):
            if self.mount_at(comps[: i + 1]) is not None and self._underneath_exists(
                comps[: i + 1]
            ):
                continue
            pfd = self.open_dir(comps[:i])
            try:
                os.mkdir(comps[i], mode, dir_fd=pfd)
            except FileExistsError:
                pass
            finally:
                os.close(pfd)

    def ensure_mountpoints(self) -> None:
        """Mount points the runtime would create at start, created now so a container that
        never ran shows its volumes (``cp`` into a data-volume container)."""
        for dest, m in sorted(self.mounts.items()):
            comps = self.resolve(dest)
            if comps != split(dest) or self._underneath_exists(comps):
                continue
            try:
                self.makedirs(comps[:-1])
                if os.path.isdir(m.source):
                    self.makedirs(comps)
                else:
                    pfd = self.open_dir(comps[:-1])
                    try:
                        fd = os.open(comps[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                                     os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=pfd)  # fmt: skip
                        os.close(fd)
                    finally:
                        os.close(pfd)
            except (OSError, InvalidArgument):
                continue  # the runtime will report it at start; cp sees the root's view
