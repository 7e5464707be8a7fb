"""Reading a container's log back in bounded memory: every generation, oldest first, then
the live file, optionally followed through conmon's rotations.

``LogReader`` is synchronous and does one bounded step at a time (at most ``BLOCK`` bytes
of file per call), so the daemon runs each step in a worker thread and its event loop never
waits on the disk; the syslog forwarder drives the same class in its own process.
``--tail N`` scans the live file backwards from its end, so it costs O(N) lines whatever
the log's size; only a tail that reaches into a compressed generation reads that whole
(capped) generation to count its lines.
"""

from __future__ import annotations

import contextlib
import gzip
import os
from collections.abc import Callable, Iterator
from typing import IO, cast

from cove.logdriver import cri, jsonlog
from cove.logdriver.files import readable
from cove.util.timefmt import parse_rfc3339

# bytes of file per step: a quarter MiB is ~1 ms of parsing (the GIL is held that long) and
# keeps what four followers hold at once to a few MiB; 1 MiB steps grew coved by 25-45 MB
BLOCK = 1 << 18
Chunk = cri.Chunk
IsFull = Callable[[bytes], bool]  # whether a line of the file ends a line of output


class _Source:
    """One open generation and where reading starts in it."""

    def __init__(self, f: IO[bytes], gz: bool, offset: int = 0, skip: int = 0) -> None:
        self.f, self.gz, self.offset, self.skip = f, gz, offset, skip

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.f.close()


class LogReader:
    def __init__(
        self,
        path: str,
        *,
        streams: frozenset[int] = frozenset((cri.STDOUT, cri.STDERR)),
        since: float = 0.0,
        until: float = 0.0,
        timestamps: bool = False,
        tail: int | None = None,
        follow: bool = False,
        start_offset: int | None = None,
        live_fd: int | None = None,
    ) -> None:
        """Every file is opened here, so a rotation during the read moves names, not data.
        ``tail``: show only the last N lines (None: all).  ``start_offset``: skip history
        and begin at that offset of the live file (the forwarder's resume point).
        ``live_fd``: the live file, already open (it may be gone from the directory)."""
        self.path, self.streams = path, streams
        self.json = jsonlog.is_json_path(path)  # Docker's json-file; else conmon's k8s-file
        # parsing JSON costs about 3x the k8s-file's slicing, all of it in one C call that
        # holds the GIL: half the bytes a step keeps the event loop's waits as short
        self._block = BLOCK // 2 if self.json else BLOCK
        # --tail counts Docker's messages in a json-file (a piece of a long line is one,
        # as dockerd counts), whole lines of output in a k8s-file
        self._full: IsFull = _every_line if self.json else cri.is_full
        self.since, self.until, self.timestamps = since, until, timestamps
        self.follow = follow
        self._sources: list[_Source] = []
        self._carry = b""
        self._live_ino = -1
        if start_offset is None:
            for name, gz in readable(path):
                with contextlib.suppress(OSError):
                    f = _open(name, gz)
                    self._sources.append(_Source(f, gz))
        try:
            live = os.fdopen(live_fd, "rb") if live_fd is not None else open(path, "rb")  # noqa: SIM115
            self._live_ino = os.fstat(live.fileno()).st_ino
            self._sources.append(_Source(live, False, start_offset or 0))
        except FileNotFoundError:
            pass
        if start_offset is None and tail is not None:
            self._seek_tail(max(tail, 0))
        for s in self._sources:
            if not s.gz:
                s.f.seek(s.offset)

    def close(self) -> None:
        for s in self._sources:
            s.close()
        self._sources.clear()

    # -- --tail -----------------------------------------------------------------------------
    def _seek_tail(self, n: int) -> None:
        """Drop the sources before the one where the last ``n`` lines start, and set where
        reading starts in it."""
        need = n
        for i in range(len(self._sources) - 1, -1, -1):
            s = self._sources[i]
            if s.gz:
                total = _count_full(s.f, self._full)
                s.f.seek(0)
                s.skip = _skip_for(s.f, total, need, self._full)
                s.f.seek(0)
                need -= total
            else:
                s.offset, found = _tail_offset(s.f, need, self._full)
                need -= found
            if need <= 0:
                for old in self._sources[:i]:
                    old.close()
                del self._sources[:i]
                return

    # -- reading ----------------------------------------------------------------------------
    def step(self) -> list[Chunk] | None:
        """The next piece of output (possibly empty when all of a block was filtered out);
        None once everything written so far has been read."""
        if self.follow:
            self._catch_up()
        while self._sources:
            s = self._sources[0]
            data = s.f.read(self._block)
            if data:
                buf = self._carry + data if self._carry else data
                cut = buf.rfind(b"\n") + 1
                self._carry = buf[cut:]
                block = buf[:cut] if cut < len(buf) else buf
                if s.skip and block:
                    dropped = min(s.skip, block.count(b"\n"))
                    s.skip -= dropped
                    block = block.split(b"\n", dropped)[-1]
                return self._convert_block(block) if block else []
            if len(self._sources) > 1:  # an older file is done (nothing is written to it)
                s.close()
                self._sources.pop(0)
                self._carry = b""
                continue
            return None
        return None

    def _catch_up(self) -> None:
        """Follow the rotations (one look a step): when a new live file is in place, the
        files rotated since the newest one held (a follower that fell behind) and the new
        live file are opened at once, to be read after what is held: a file rotated away
        while the follower was still behind stays readable through its open descriptor."""
        try:
            ino = os.stat(self.path).st_ino
        except FileNotFoundError:
            return
        if ino == self._live_ino:
            return
        if self._live_ino >= 0:
            for _attempt in range(3):  # a name can move between the listing and the look
                found = self._newer_than_live()
                if found is not None:
                    for n, z in found:
                        with contextlib.suppress(OSError):
                            self._sources.append(_Source(_open(n, z), z))
                    break
        try:
            live = open(self.path, "rb")  # noqa: SIM115
        except FileNotFoundError:
            return
        self._live_ino = os.fstat(live.fileno()).st_ino
        self._sources.append(_Source(live, False))

    def _newer_than_live(self) -> list[tuple[str, bool]] | None:
        """The files rotated after the old live file, oldest first (None: it was not
        found: compressed, dropped past max-file, or its name just moved)."""
        older = readable(self.path)  # oldest first, those waiting to be shifted last
        for idx, (name, gz) in enumerate(older):
            if gz:
                continue  # compressed copies are new files: the old one is not found there
            with contextlib.suppress(OSError):
                if os.stat(name).st_ino == self._live_ino:
                    return older[idx + 1 :]
        # gone (past max-file): the plain files written to after it, by their times
        held = self._sources[-1] if self._sources else None
        if held is None or held.gz:
            return None
        try:
            last = os.fstat(held.f.fileno()).st_mtime_ns
        except OSError:
            return None
        out: list[tuple[str, bool]] = []
        for name, gz in older:
            with contextlib.suppress(OSError):
                if not gz and os.stat(name).st_mtime_ns > last:
                    out.append((name, gz))
        return out

    def _convert_block(self, block: bytes) -> list[Chunk]:
        """Whole records (``block`` ends with a newline) to output: at C speed when the
        time filter keeps or drops the whole block, record by record otherwise."""
        if self.json:
            return self._convert_json(block)
        if self.since or self.until:
            first, last = cri.block_times(block)
            if (self.since and last < self.since) or (self.until and first > self.until):
                return []
            whole = first >= self.since and (not self.until or last <= self.until)
        else:
            whole = True
        if whole:
            out = cri.convert_block(block, self.streams, self.timestamps)
            if out is not None:
                return out
        lines = block.split(b"\n")
        lines.pop()  # after the last newline
        return self._convert(lines)

    def _convert_json(self, block: bytes) -> list[Chunk]:
        """Docker's lines to output: the block parsed in one go; a time filter that cuts
        inside the block looks at each line's time."""
        objs = jsonlog.objects(block)
        if objs and (self.since or self.until):
            first, last = _epoch(objs[0].get("time")), _epoch(objs[-1].get("time"))
            if (self.since and last < self.since) or (self.until and first > self.until):
                return []
            if not (first >= self.since and (not self.until or last <= self.until)):
                objs = [
                    o for o in objs
                    if (t := _epoch(o.get("time"))) >= self.since
                    and (not self.until or t <= self.until)
                ]  # fmt: skip
        return jsonlog.convert(objs, self.streams, self.timestamps)

    def _convert(self, lines: list[bytes]) -> list[Chunk]:
        out: list[Chunk] = []
        group: list[bytes] = []
        cur = 0
        filtered = bool(self.since or self.until)
        last_ts, t, stamp = b"", 0.0, b""  # conmon stamps every line of one read alike
        for ln in lines:
            p = ln.split(b" ", 3)
            if len(p) < 3:
                continue
            stream = cri.STDERR if p[1] == b"stderr" else cri.STDOUT
            if stream not in self.streams:
                continue
            if filtered or self.timestamps:
                if p[0] != last_ts:
                    t, text = cri.docker_time(p[0])
                    last_ts, stamp = p[0], text.encode() + b" "
                if (self.since and t < self.since) or (self.until and t > self.until):
                    continue
                if self.timestamps:
                    if stream != cur and group:
                        out.append((cur, b"".join(group)))
                        group = []
                    cur = stream
                    group.append(stamp)
            if stream != cur:
                if group:
                    out.append((cur, b"".join(group)))
                    group = []
                cur = stream
            if len(p) == 4:
                group.append(p[3])
            if p[2] == b"F":
                group.append(b"\n")
        if group:
            out.append((cur, b"".join(group)))
        return out


def _every_line(_line: bytes) -> bool:
    return True


def _epoch(t: object) -> float:
    try:
        return parse_rfc3339(t) if isinstance(t, str) else 0.0
    except ValueError:
        return 0.0


def _open(name: str, gz: bool) -> IO[bytes]:
    if gz:
        return cast(IO[bytes], gzip.open(name, "rb"))
    return open(name, "rb")


def _lines_backward(f: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """The complete lines of a plain file, last first, each with its offset; bytes after
    the final newline (a record still being written) are left out.  conmon splits a line
    longer than its read buffer into P records, so what is held here stays about one block."""
    f.seek(0, os.SEEK_END)
    pos = f.tell()
    buf, first = b"", True
    while True:
        if pos > 0:
            size = min(BLOCK, pos)
            pos -= size
            f.seek(pos)
            buf = f.read(size) + buf
        if first:
            cut = buf.rfind(b"\n")
            if cut < 0 and pos > 0:
                continue
            buf, first = buf[: cut + 1], False
        e = len(buf)  # buf[:e] ends with a newline; buf[0] sits at offset pos
        while e > 0:
            j = buf.rfind(b"\n", 0, e - 1)
            if j < 0 and pos > 0:
                break  # the line starts in an earlier block
            yield pos + j + 1, buf[j + 1 : e - 1]
            e = j + 1
        buf = buf[:e]
        if pos == 0:
            return


def _tail_offset(f: IO[bytes], need: int, is_full: IsFull) -> tuple[int, int]:
    """(offset where the last ``need`` full lines of a plain file start, how many full
    lines were found, at most ``need``): O(need) lines read from the end.  A line's P
    records before its F record come with it."""
    found, start = 0, -1
    for off, line in _lines_backward(f):
        if need == 0:
            return off + len(line) + 1, 0
        if found >= need:
            if line and not is_full(line):
                start = off
                continue
            return start, found
        start = off
        if is_full(line):
            found += 1
    return max(start, 0), found


def _full_lines(f: IO[bytes], is_full: IsFull) -> Iterator[bool]:
    """Whether each record of a (compressed) file is a full line, first to last."""
    carry = b""
    while data := f.read(BLOCK):
        buf = carry + data
        cut = buf.rfind(b"\n") + 1
        carry = buf[cut:]
        for ln in buf[:cut].split(b"\n")[:-1]:
            yield is_full(ln)


def _count_full(f: IO[bytes], is_full: IsFull) -> int:
    return sum(1 for full in _full_lines(f, is_full) if full)


def _skip_for(f: IO[bytes], total: int, need: int, is_full: IsFull) -> int:
    """How many records to skip so that the last ``need`` of ``total`` full lines remain."""
    drop = total - need
    if drop <= 0:
        return 0
    seen = 0
    for i, full in enumerate(_full_lines(f, is_full)):
        if full:
            seen += 1
            if seen == drop:
                return i + 1
    return 0
