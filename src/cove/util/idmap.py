"""User-namespace id maps: container ids to host ids and back (``userns-remap``).

A map is a list of ranges, as in /etc/subuid and OCI's ``linux.uidMappings``: container id
``container + i`` is host id ``host + i`` for ``0 <= i < size``.  Pure data; the daemon
reads the ranges (daemon/userns.py) and the layers below use the map to own files as the
container will see them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

IdMapper = Callable[[int, int], tuple[int, int]]  # (uid, gid) from one side to the other
OVERFLOW_ID = 65534  # what the kernel shows for a host id the namespace cannot map


class UnmappableId(ValueError):
    """An id the map has no host id for (a layer owned by one the container cannot have)."""


@dataclass(frozen=True)
class IdRange:
    container: int
    host: int
    size: int


def _to_host(ranges: Sequence[IdRange], i: int, what: str) -> int:
    for r in ranges:
        if r.container <= i < r.container + r.size:
            return r.host + i - r.container
    raise UnmappableId(f"Container ID {i} cannot be mapped to a host ID ({what})")


def _to_container(ranges: Sequence[IdRange], i: int) -> int:
    for r in ranges:
        if r.host <= i < r.host + r.size:
            return r.container + i - r.host
    return OVERFLOW_ID


@dataclass(frozen=True)
class IdMap:
    uids: tuple[IdRange, ...]
    gids: tuple[IdRange, ...]

    @property
    def root(self) -> tuple[int, int]:
        """The host uid and gid of the container's root."""
        return _to_host(self.uids, 0, "uid"), _to_host(self.gids, 0, "gid")

    def to_host(self, uid: int, gid: int) -> tuple[int, int]:
        """UnmappableId for ids outside the map (dockerd refuses such layers too)."""
        return _to_host(self.uids, uid, "uid"), _to_host(self.gids, gid, "gid")

    def to_container(self, uid: int, gid: int) -> tuple[int, int]:
        """Host ids as the container sees them; unmapped ones are the overflow id."""
        return _to_container(self.uids, uid), _to_container(self.gids, gid)

    def oci(self) -> tuple[list[dict[str, int]], list[dict[str, int]]]:
        """OCI ``linux.uidMappings`` and ``linux.gidMappings``."""

        def entries(ranges: Sequence[IdRange]) -> list[dict[str, int]]:
            return [{"containerID": r.container, "hostID": r.host, "size": r.size} for r in ranges]

        return entries(self.uids), entries(self.gids)


def from_subid(
    uid_ranges: Sequence[tuple[int, int]], gid_ranges: Sequence[tuple[int, int]]
) -> IdMap:
    """A map from /etc/subuid-style (start, count) ranges: container ids count up from 0
    across the ranges in order, as dockerd lays them out."""

    def layout(ranges: Sequence[tuple[int, int]]) -> tuple[IdRange, ...]:
        out, next_id = [], 0
        for start, count in ranges:
            out.append(IdRange(next_id, start, count))
            next_id += count
        return tuple(out)

    return IdMap(layout(uid_ranges), layout(gid_ranges))


def in_user_namespace() -> bool:
    """Whether this process runs in a user namespace below the initial one (a rootless
    daemon): the initial namespace maps every id to itself."""
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() != ["0", "0", "4294967295"]
    except OSError:
        return False
