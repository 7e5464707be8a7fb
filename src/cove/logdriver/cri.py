"""The CRI log format conmon writes ("k8s-file"), one record per line (pure).

``<RFC 3339 time with nanoseconds and offset> <stdout|stderr> <P|F> <bytes>\\n``: F ends a
line of the container's output (its newline is the record's), P is a piece of a longer
line (a read that ended mid-line); the next record goes on with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby, repeat
from operator import itemgetter

from cove.util.timefmt import now_rfc3339, parse_rfc3339

STDOUT, STDERR = 1, 2
Record = tuple[bytes, int, bytes]  # (conmon's timestamp, stream, data with its newline if F)
Chunk = tuple[int, bytes]  # (stream, bytes of output)


def parse(line: bytes) -> Record | None:
    """One line of the file (with or without its newline); None when it is not a record."""
    if line.endswith(b"\n"):
        line = line[:-1]
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        return None
    ts, stream, flag = parts[0], parts[1], parts[2]
    data = parts[3] if len(parts) == 4 else b""
    if flag == b"F":
        data += b"\n"
    elif flag != b"P":
        return None
    return ts, STDERR if stream == b"stderr" else STDOUT, data


# --- whole blocks at C speed ---------------------------------------------------------------
# A follower of a fast writer parses megabytes a second; a Python loop per record holds the
# daemon's GIL for milliseconds a block, so blocks go through C-level iteration instead
# (bytes.split, map with itemgetter slices, one join), and only what that cannot do (a time
# filter cut inside a block, stamps not as conmon writes them) takes the record-by-record way.
# conmon writes every record's head in 45 bytes: a 35-byte stamp (nanoseconds, +hh:mm), a
# space, the stream's 6 letters, a space, the flag, a space.

_STREAM_OF = {
    b" stdout F ": STDOUT,
    b" stderr F ": STDERR,
    b" stdout P ": STDOUT,
    b" stderr P ": STDERR,
}
_END_OF = {b" stdout F ": b"\n", b" stderr F ": b"\n", b" stdout P ": b"", b" stderr P ": b""}
_HEAD = itemgetter(slice(35, 45))
_DATA = itemgetter(slice(45, None))
_ZONE = itemgetter(slice(29, 35))
_STAMP = itemgetter(slice(0, 29))


def convert_block(block: bytes, streams: frozenset[int], timestamps: bool) -> list[Chunk] | None:
    """The output of whole records (``block`` ends with a newline) as (stream, bytes) runs,
    what a record-by-record conversion gives; None when that way is needed (a record not
    as conmon writes it, or a stamp not in UTC with ``timestamps``)."""
    lines = block.split(b"\n")
    lines.pop()  # after the last newline
    if not lines:
        return []
    if set(map(bytes.find, lines, repeat(b" "))) != {35}:
        return None
    datas: Iterable[bytes] = map(_DATA, lines)
    if timestamps:
        if set(map(_ZONE, lines)) != {b"+00:00"}:
            return None
        datas = map(
            b"%bZ %b".__mod__, zip(map(_STAMP, lines), datas, strict=True)
        )  # Docker's UTC stamp
    heads = list(map(_HEAD, lines))
    kinds = set(heads)
    if not kinds <= _END_OF.keys():
        return None
    if len(kinds) == 1 and _END_OF[heads[0]]:  # the usual block: whole lines of one stream
        stream = _STREAM_OF[heads[0]]
        return [(stream, b"\n".join(datas) + b"\n")] if stream in streams else []
    # conmon cuts a line into P pieces where a read of the pipe ended: each record's data,
    # then what ends it (a newline or nothing), one run per stream
    parts = [b""] * (2 * len(heads))
    parts[::2] = datas
    parts[1::2] = map(_END_OF.__getitem__, heads)
    if len({_STREAM_OF[k] for k in kinds}) == 1:
        stream = _STREAM_OF[heads[0]]
        return [(stream, b"".join(parts))] if stream in streams else []
    out: list[Chunk] = []
    i = 0
    for stream, run in groupby(map(_STREAM_OF.__getitem__, heads)):
        n = 2 * sum(1 for _ in run)
        if stream in streams:
            data = b"".join(parts[i : i + n])
            if out and out[-1][0] == stream:  # a run of the other stream was left out between
                out[-1] = (stream, out[-1][1] + data)
            else:
                out.append((stream, data))
        i += n
    return [c for c in out if c[1]]


def block_times(block: bytes) -> tuple[float, float]:
    """The times of a block's first and last records (conmon writes them in order)."""
    last = block.rfind(b"\n", 0, len(block) - 1) + 1
    return epoch(block[: block.find(b" ")]), epoch(block[last : block.find(b" ", last)])


def is_full(line: bytes) -> bool:
    """Whether a record line ends a line of output (its flag is F), cheaply."""
    i = line.find(b" ")
    j = line.find(b" ", i + 1)
    return line[j + 1 : j + 2] == b"F"


def docker_time(ts: bytes) -> tuple[float, str]:
    """conmon's ``2026-11-28T06:18:54.123456789+01:00`` -> (epoch seconds, Docker's
    ``2026-11-28T05:18:54.123456789Z``); (0.0, the text) when it does not parse."""
    text = ts.decode(errors="replace")
    main, _, rest = text.partition(".")
    n = len(rest) - len(rest.lstrip("0123456789"))
    frac, zone = rest[:n], rest[n:]
    try:
        secs = int(parse_rfc3339(main + zone))
    except ValueError:
        return 0.0, text
    if text.endswith("+00:00") and len(text) == 35:  # the usual UTC case: the text as is
        return secs + int(frac) / 1e9, text[:29] + "Z"
    ns = int((frac + "000000000")[:9])
    return secs + ns / 1e9, now_rfc3339(secs * 1_000_000_000 + ns)


def epoch(ts: bytes) -> float:
    return docker_time(ts)[0]
