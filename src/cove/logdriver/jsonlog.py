"""Docker's json-file format (pure): conmon's CRI records in, ``<id>-json.log`` lines out,
and those lines back to output for ``logs``.

One JSON object per line, keys in dockerd's order:
``{"log":"text\\n","stream":"stdout","time":"2026-12-07T04:19:45.12345678Z"}``.  What
dockerd 20.10 writes, checked side by side: the time is Go's RFC3339Nano in UTC (zeros
of the fraction trimmed); ``"``, ``\\``, ``\\n``, ``\\r`` escaped by a backslash, the other
control characters and ``<``, ``>``, ``&`` as ``\\u00XX``, U+2028/U+2029 as ``\\u2028``,
each byte that is not part of valid UTF-8 as ``\\ufffd``, any other character raw; a line
longer than 16 KiB goes in 16 KiB pieces whose ``log`` has no newline (the last piece has
it), every piece stamped with the time of the first; output left without a newline when
the container ends is a piece without one.

conmon cuts lines where a read of the container's pipe ended (P records), so the pieces of
a line are joined again here and cut where dockerd cuts them.  The conversion works on
whole blocks: one C-level pass per step over all records (``bytes.split``, ``map`` with
slices, one join), and a Python step only for records in a P chain or blocks that are not
as conmon writes them in UTC.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterable
from itertools import groupby, repeat
from operator import itemgetter
from typing import Any

from cove.logdriver import cri

# ``runs`` of the optional C accelerator (setup.py builds it; _jsonlog.c says what it does);
# None where it was not built: the Python path, which is the reference, does it all then
Runs = Callable[[bytes, int, int], tuple[bytes, int]]
_accel: Runs | None
try:
    from cove.logdriver._jsonlog import runs as _accel
except ImportError:  # pragma: no cover - only where no compiler was found
    _accel = None

PIECE = 16 * 1024  # dockerd's copier buffer: a longer line goes in pieces of this size
STREAM_NAME = {cri.STDOUT: b"stdout", cri.STDERR: b"stderr"}

# --- escaping as dockerd's jsonlog does ---------------------------------------------------
_SHORT = {0x22: b'\\"', 0x5C: b"\\\\", 0x0A: b"\\n", 0x0D: b"\\r"}
_ESC = {c: _SHORT.get(c, b"\\u%04x" % c) for c in (*range(0x20), 0x22, 0x5C, 0x3C, 0x3E, 0x26)}
_SPECIAL = re.compile(rb'[\x00-\x1f"\\<>&]|\xe2\x80[\xa8\xa9]')
_CTRL_BYTES = bytes(c for c in range(0x20) if c != 0x0A)
_TO_ESCAPE = _CTRL_BYTES + b'"\\<>&'
_CTRL = re.compile(rb"[\x00-\x09\x0b-\x1f]|\xe2\x80[\xa8\xa9]")


def _read_end(block: bytes, pos: int, head: bytes, guess: int) -> int:
    """Where the records with ``head`` that start at ``pos`` end (the next record's start,
    or the block's end): the last "newline + head" in a window about twice the previous
    read's size (``guess``), the window doubled while the record after the one found
    still has the head."""
    n = len(block)
    pattern = b"\n" + head
    window = max(2 * guess, 4096)
    while True:
        stop = min(pos + window, n)
        i = block.rfind(pattern, pos, stop)
        last = pos if i < 0 else i + 1  # the last record with the head found
        e = block.find(b"\n", last + 45) + 1
        if not e or e >= n:
            return n
        if not block.startswith(head, e):
            return e
        if stop >= n:
            return e  # (cannot happen: the record at e lies inside the block)
        window *= 2


def _next_of(heads: list[bytes], i: int) -> int:
    """The index of the next record of record ``i``'s stream (-1: none in the block)."""
    name = heads[i][6:14]
    for j in range(i + 1, len(heads)):
        if heads[j][6:14] == name:
            return j
    return -1


def _esc_match(m: re.Match[bytes]) -> bytes:
    s = m.group()
    return _ESC[s[0]] if len(s) == 1 else b"\\u202" + (b"8" if s[2] == 0xA8 else b"9")


def escape(raw: bytes) -> bytes:
    """The inside of dockerd's JSON string for ``raw`` (exact, byte by byte)."""
    done = escape_block(raw)
    if done is not None:
        return done
    # rebuilt piecewise: valid runs escaped, each invalid byte one \ufffd
    text = raw.decode(errors="surrogateescape")
    chunks: list[bytes] = []
    run: list[str] = []
    for ch in text:
        if "\udc80" <= ch <= "\udcff":
            if run:
                chunks.append(_SPECIAL.sub(_esc_match, "".join(run).encode()))
                run = []
            chunks.append(b"\\ufffd")
        else:
            run.append(ch)
    if run:
        chunks.append(_SPECIAL.sub(_esc_match, "".join(run).encode()))
    return b"".join(chunks)


def escape_block(block: bytes) -> bytes | None:
    """Escape a block of records as a whole (the record heads hold none of the characters
    escaped, and newlines stay, so the records stay where they were); None when a byte is
    not valid UTF-8 (escaped record by record then)."""
    if not block.isascii():
        try:
            block.decode()
        except UnicodeDecodeError:
            return None
        if b"\xe2\x80\xa8" in block or b"\xe2\x80\xa9" in block:
            return _escape_all(block)
    # one C pass tells whether anything is to be escaped (a regex search is slower)
    if len(block.translate(None, _TO_ESCAPE)) == len(block):
        return block
    return _escape_all(block)


def _escape_all(block: bytes) -> bytes:
    if b"\\" in block:
        block = block.replace(b"\\", b"\\\\")
    if b'"' in block:
        block = block.replace(b'"', b'\\"')
    for c, rep in ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026")):
        if c in block:
            block = block.replace(c, rep)
    if len(block.translate(None, _CTRL_BYTES)) != len(block) or (
        b"\xe2\x80\xa8" in block or b"\xe2\x80\xa9" in block
    ):
        block = _CTRL.sub(_esc_match, block)
    return block


def message(raw: bytes, stream: int, stamp: bytes, newline: bool) -> bytes:
    """One line of the file; ``stamp`` in Docker's shape already."""
    return b'{"log":"%b%b","stream":"%b","time":"%b"}\n' % (
        escape(raw), b"\\n" if newline else b"", STREAM_NAME[stream], stamp,
    )  # fmt: skip


def docker_stamp(cri_stamp: bytes) -> bytes:
    """conmon's stamp -> Docker's RFC3339Nano in UTC (``...:45.1234Z``)."""
    if len(cri_stamp) == 35 and cri_stamp.endswith(b"+00:00"):
        return cri_stamp[:29].rstrip(b"0").rstrip(b".") + b"Z"
    _, text = cri.docker_time(cri_stamp)  # another zone: converted (nine digits)
    main, _, frac = text[:-1].partition(".")
    frac = frac.rstrip("0")
    return (main + ("." + frac if frac else "") + "Z").encode()


# --- conmon's records -> Docker's lines ----------------------------------------------------
_HEAD = itemgetter(slice(29, 45))
_STREAM_AT = itemgetter(slice(7, 13))
_DATA = itemgetter(slice(45, None))
_STAMP = itemgetter(slice(0, 29))
_EMPTY = repeat(b"")
_OPEN = b'{"log":"'
_MID = {
    b"+00:00 stdout F ": b'\\n","stream":"stdout","time":"',
    b"+00:00 stderr F ": b'\\n","stream":"stderr","time":"',
}
_P_HEADS = {b"+00:00 stdout P ": cri.STDOUT, b"+00:00 stderr P ": cri.STDERR}
_F_HEADS = {b"+00:00 stdout F ": cri.STDOUT, b"+00:00 stderr F ": cri.STDERR}
_KNOWN = _MID.keys() | _P_HEADS.keys()
_P_KINDS = frozenset(_P_HEADS)
_NOTHING = (b"", b"", b"", b"", b"")
_HEAD_STREAM = {cri.STDOUT: b"stdout", cri.STDERR: b"stderr"}
_CLOSE = b'Z"}\n'


class Converter:
    """conmon's records of one container -> Docker's lines.  Holds the start of a line
    whose end has not come yet (at most ``PIECE`` bytes a stream)."""

    def __init__(self, accel: bool = True) -> None:
        self.pending: dict[int, tuple[bytes, bytes]] = {}  # stream -> (raw bytes, stamp)
        # the C accelerator when built (``accel=False``: the Python path, as the tests
        # compare them)
        self.accel = _accel if accel else None

    def feed(self, block: bytes) -> bytes:
        """Whole records (``block`` ends with a newline, or is empty) -> Docker's lines."""
        if self.accel is not None:
            return self._feed_accel(self.accel, block)
        return self._feed_py(block)

    def _feed_accel(self, runs: Runs, block: bytes) -> bytes:
        """``feed`` with the C accelerator: it converts runs of F records in UTC (the bulk
        of any log, with the usual P record of a read that ended inside a line) as
        ``_feed_py`` does; each record it stops at (another P record, the end of a line
        held here, another shape) goes the Python way, and the accelerator goes on after it."""
        out: list[bytes] = []
        pos, n = 0, len(block)
        while pos < n:
            skip = (cri.STDOUT in self.pending) | (cri.STDERR in self.pending) << 1
            done, pos = runs(block, pos, skip)
            out.append(done)
            if pos >= n:
                break
            kind = block[pos + 29 : pos + 45]
            e = block.find(b"\n", pos) + 1
            if kind not in _KNOWN or e <= pos + 45:
                out.append(self._feed_records(block[pos:]))  # another shape
                break
            stream = _P_HEADS.get(kind) or _F_HEADS[kind]
            stamp = docker_stamp(block[pos : pos + 35])
            out.append(self._record(stream, stamp, block[pos + 45 : e - 1], kind in _MID))
            pos = e
        return b"".join(out)

    def _feed_py(self, block: bytes) -> bytes:
        """``feed`` in Python (the reference).

        conmon gives every record of one read of the container's pipe the same head (the
        stamp is taken once a read), so a read's records are converted together: one
        ``bytes.replace`` turns the head between two records into the end of one line
        and the start of the next, at a cost per byte, not per line (a read of ``yes``
        holds 4096 records).  A read's end is found by a galloping search over the heads
        and checked by counting; what does not fit (the other zone, a P record, bytes
        that are not UTF-8) goes the per-record way."""
        out: list[bytes | memoryview] = []
        pos, n = 0, len(block)
        clean = escape_block(block) is block  # nothing to escape anywhere: one look
        guess = 0  # the previous read's size: where the next one's end is looked for
        while pos < n:
            head = block[pos : pos + 45]
            kind = head[29:]
            if kind not in _KNOWN or len(head) < 45 or head[35] != 0x20:
                break  # another shape: the per-record way from here
            stream = _P_HEADS.get(kind) or _F_HEADS[kind]
            if kind in _P_HEADS or stream in self.pending:
                # a read that ended inside a line (held), or the end of a held line
                e = block.find(b"\n", pos) + 1
                stamp = docker_stamp(head[:35])
                out.append(self._record(stream, stamp, block[pos + 45 : e - 1], kind in _MID))
                pos = e
                continue
            end = _read_end(block, pos, head, guess)
            guess = end - pos
            seg = block[pos:end]
            esc = seg if clean else escape_block(seg)
            if esc is None:
                break
            close = _MID[kind] + head[:29].rstrip(b"0").rstrip(b".") + _CLOSE
            body = esc.replace(b"\n" + head, close + _OPEN)
            # a record of another read inside the run (never from conmon, whose stamps
            # differ a read) would stay as it was: its head is looked for
            if body.find(b"+00:00 std", 45) >= 0 or body.find(b"+00:00 std", 0, 45) != 29:
                break
            # the first head and the last newline left out by a view: no copy until the join
            out += (_OPEN, memoryview(body)[45:-1], close)
            pos = end
        if pos < n:
            out.append(self._feed_records(block[pos:] if pos else block))
        return b"".join(out)

    def _feed_records(self, block: bytes) -> bytes:
        """``feed`` record by record (at C speed still, a list of records)."""
        lines = block.split(b"\n")
        lines.pop()
        n = len(lines)
        if not n:
            return b""
        # the zone, stream and flag of every record in one slice: a record not as conmon
        # writes it in UTC does not match and takes the slow way
        heads = list(map(_HEAD, lines))
        kinds = set(heads)
        if not kinds <= _KNOWN:
            return self._slow(lines)
        special: list[int] = []
        for kind in kinds & _P_KINDS:  # P records: found by C-level scans, few a block
            i = heads.index(kind)
            while True:
                special.append(i)
                try:
                    i = heads.index(kind, i + 1)
                except ValueError:
                    break
        for stream in self.pending:  # the first record of a stream that has a line held
            name = _HEAD_STREAM[stream]
            first = [heads.index(k) for k in kinds if k[7:13] == name]
            if first:
                special.append(min(first))
        escaped = escape_block(block)
        if escaped is block:
            datas: Iterable[bytes] = map(_DATA, lines)
        elif escaped is None:
            datas = map(escape, map(_DATA, lines))
        else:
            datas = map(_DATA, escaped.split(b"\n")[:n])
        # five parts a record, filled by slice assignment (no tuple per record), one join
        parts: list[bytes] = [_OPEN] * (5 * n)
        parts[1::5] = datas
        parts[2::5] = (
            [_MID.get(heads[0], b"")] * n if len(kinds) == 1 else map(_MID.get, heads, _EMPTY)
        )
        # conmon stamps all records of one read alike: each stamp is trimmed once
        stamps = list(map(_STAMP, lines))
        trimmed = {t: t.rstrip(b"0").rstrip(b".") for t in set(stamps)}
        parts[3::5] = map(trimmed.__getitem__, stamps)
        parts[4::5] = [_CLOSE] * n
        if special:
            special.sort()
            self._chains(lines, heads, special, parts, escaped is not None)
        return b"".join(parts)

    def _chains(
        self, lines: list[bytes], heads: list[bytes], todo: list[int], parts: list[bytes],
        valid: bool,
    ) -> None:  # fmt: skip
        """Records in a P chain: joined with what went before, cut in dockerd's pieces.
        The usual chain (a read ended inside a short line: P, then the F of the next read)
        is joined from the parts already escaped (``valid``: every record is valid UTF-8 by
        itself, so escaping the two halves is escaping the whole); the others go through
        ``_record``."""
        done: set[int] = set()
        k = 0
        while k < len(todo):
            i = todo[k]
            k += 1
            if i in done:
                continue
            done.add(i)
            head = heads[i]
            stream = _P_HEADS.get(head) or _F_HEADS[head]
            j = _next_of(heads, i) if head in _P_HEADS else -1
            if (
                valid and j >= 0 and stream not in self.pending and heads[j] in _F_HEADS
                and len(lines[i]) + len(lines[j]) - 90 < PIECE
            ):  # fmt: skip
                parts[5 * j + 1] = parts[5 * i + 1] + parts[5 * j + 1]
                parts[5 * j + 3] = parts[5 * i + 3]  # the line's first time
                parts[5 * i : 5 * i + 5] = _NOTHING
                done.add(j)
                continue
            stamp = docker_stamp(lines[i][:35])
            parts[5 * i : 5 * i + 5] = (
                self._record(stream, stamp, lines[i][45:], head in _F_HEADS), b"", b"", b"", b"",
            )  # fmt: skip
            if j >= 0 and j not in done:  # the line goes on in this stream's next record
                bisect.insort(todo, j, lo=k)

    def _record(self, stream: int, stamp: bytes, data: bytes, full: bool) -> bytes:
        held = self.pending.pop(stream, None)
        if held is not None:
            data, stamp = held[0] + data, held[1]
        out = []
        while len(data) >= PIECE:
            out.append(message(data[:PIECE], stream, stamp, False))
            data = data[PIECE:]
        if full:
            out.append(message(data, stream, stamp, True))
        else:  # held, even empty: every piece of the line gets its first time
            self.pending[stream] = (data, stamp)
        return b"".join(out)

    def _slow(self, lines: list[bytes]) -> bytes:
        """Records not as conmon writes them in UTC: one by one."""
        out = []
        for ln in lines:
            rec = cri.parse(ln)
            if rec is None:
                continue
            ts, stream, data = rec
            full = data.endswith(b"\n") and ln.split(b" ", 3)[2:3] == [b"F"]
            out.append(self._record(stream, docker_stamp(ts), data[:-1] if full else data, full))
        return b"".join(out)

    def flush(self) -> bytes:
        """The container ended: what it left without a newline, as dockerd writes it."""
        out = [message(d, s, t, False) for s, (d, t) in self.pending.items() if d]
        self.pending.clear()
        return b"".join(out)


# --- Docker's lines -> output ---------------------------------------------------------------
_LOG = itemgetter("log")
_STREAM = itemgetter("stream")
_TIME = itemgetter("time")
_STREAM_OF = {"stdout": cri.STDOUT, "stderr": cri.STDERR}


def objects(block: bytes) -> list[dict[str, Any]]:
    """The lines of a block (ending with a newline) as objects: one C-level parse of the
    whole block; lines that are not objects are left out."""
    body = block.rstrip(b"\n")
    if not body:
        return []
    try:
        objs = json.loads(b"[" + body.replace(b"\n", b",") + b"]")
        if all(map(dict.__instancecheck__, objs)):
            return list(objs)
    except (ValueError, RecursionError):
        pass
    out = []
    for ln in body.split(b"\n"):
        try:
            o = json.loads(ln)
        except (ValueError, RecursionError):
            continue
        if isinstance(o, dict):
            out.append(o)
    return out


def fixed_time(t: str) -> str:
    """RFC3339Nano -> Docker's ``logs -t`` stamp (nine digits)."""
    main, _, frac = t.rstrip("Z").partition(".")
    return f"{main}.{(frac + '000000000')[:9]}Z"


def convert(
    objs: list[dict[str, Any]], streams: frozenset[int], timestamps: bool
) -> list[cri.Chunk]:
    """Objects -> (stream, bytes) runs, streams not asked for left out."""
    if not objs:
        return []
    try:
        logs: Iterable[str] = map(_LOG, objs)
        names = list(map(_STREAM, objs))
        if timestamps:
            logs = map("%s %s".__mod__, zip(map(fixed_time, map(_TIME, objs)), logs, strict=True))
        texts = list(logs)
    except (KeyError, TypeError, AttributeError):
        return _convert_slow(objs, streams, timestamps)
    kinds = set(names)
    if len(kinds) == 1:
        stream = _STREAM_OF.get(names[0], cri.STDOUT)
        if stream not in streams:
            return []
        return [(stream, "".join(texts).encode(errors="replace"))]
    out: list[cri.Chunk] = []
    i = 0
    for name, run in groupby(names):
        n = sum(1 for _ in run)
        stream = _STREAM_OF.get(name, cri.STDOUT)
        if stream in streams:
            data = "".join(texts[i : i + n]).encode(errors="replace")
            if out and out[-1][0] == stream:
                out[-1] = (stream, out[-1][1] + data)
            else:
                out.append((stream, data))
        i += n
    return out


def _convert_slow(
    objs: list[dict[str, Any]], streams: frozenset[int], timestamps: bool
) -> list[cri.Chunk]:
    keep = [
        o for o in objs
        if isinstance(o.get("log"), str) and isinstance(o.get("time", ""), str)
    ]  # fmt: skip
    for o in keep:
        o.setdefault("time", "0001-01-01T00:00:00Z")
        if not isinstance(o.get("stream"), str):
            o["stream"] = "stdout"
    return convert(keep, streams, timestamps) if keep else []


def is_json_path(path: str) -> bool:
    """Whether a log file is Docker's json-file (by its name, as dockerd names it)."""
    return path.endswith("-json.log")
