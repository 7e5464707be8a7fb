"""``docker logs`` from the monitor's k8s-file log.

Each line of the file is ``<RFC3339Nano time> <stdout|stderr> <P|F> <bytes>``: F ends a line
(we restore its newline), P is a piece of a longer line.  Docker prints times in UTC with
nanoseconds and a trailing Z; we convert.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

from cove.util.streams import STDERR, STDOUT, Chunk

Entry = tuple[float, str, int, bytes]  # (epoch, docker timestamp, stream, data)


def parse_line(line: bytes) -> Entry | None:
    try:
        ts, stream, flag, data = line.rstrip(b"\n").split(b" ", 3)
    except ValueError:
        try:
            ts, stream, flag = line.rstrip(b"\n").split(b" ", 2)
            data = b""
        except ValueError:
            return None
    t, stamp = _convert_ts(ts.decode())
    if flag == b"F":
        data += b"\n"
    return t, stamp, STDERR if stream == b"stderr" else STDOUT, data


def _convert_ts(ts: str) -> tuple[float, str]:
    """``2026-11-28T06:18:54.123456789+00:00`` -> (epoch, ``2026-11-28T06:18:54.123456789Z``)."""
    main, _, rest = ts.partition(".")
    n = len(rest) - len(rest.lstrip("0123456789"))
    frac, off = rest[:n], rest[n:]
    try:
        base = datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return 0.0, ts
    if off and off[0] in "+-" and len(off) >= 6:
        delta = timedelta(hours=int(off[1:3]), minutes=int(off[4:6]))
        base = base - delta if off[0] == "+" else base + delta
    frac = (frac + "000000000")[:9]
    epoch = base.timestamp() + int(frac) / 1e9
    return epoch, base.strftime("%Y-%m-%dT%H:%M:%S") + f".{frac}Z"


def _tail(entries: list[Entry], tail: str) -> list[Entry]:
    if tail in ("", "all"):
        return entries
    try:
        n = int(tail)
    except ValueError:
        return entries
    if n < 0:
        return entries
    if n == 0:
        return []
    # count complete lines from the end
    count, i = 0, len(entries)
    while i > 0 and count < n:
        i -= 1
        if entries[i][3].endswith(b"\n") or i == len(entries) - 1:
            count += 1
            if count == n:
                break
    while i > 0 and not entries[i - 1][3].endswith(b"\n"):
        i -= 1
    return entries[i:]


def read_log(
    path: str,
    *,
    follow: bool,
    streams: set[int],
    since: float,
    until: float,
    timestamps: bool,
    tail: str,
    running: Callable[[], bool],
) -> AsyncIterator[Chunk]:
    async def gen() -> AsyncIterator[Chunk]:
        try:
            f = open(path, "rb")  # noqa: SIM115 - held across awaits
        except FileNotFoundError:
            return
        with f:
            buf = f.read()
            last_nl = buf.rfind(b"\n") + 1
            pending = buf[last_nl:]
            entries = [e for ln in buf[:last_nl].splitlines(True) if (e := parse_line(ln))]
            for e in _tail(entries, tail):
                if (c := _chunk(e)) is not None:
                    yield c
            if not follow:
                return
            while True:
                # read what the monitor wrote, then stop once the process is gone and the
                # file holds nothing more (the monitor flushes before it exits)
                stopped = not running()
                more = f.read()
                if more:
                    pending += more
                    cut = pending.rfind(b"\n") + 1
                    for ln in pending[:cut].splitlines(True):
                        if (e := parse_line(ln)) and (c := _chunk(e)) is not None:
                            yield c
                    pending = pending[cut:]
                    continue
                if stopped:
                    return
                await asyncio.sleep(0.05)

    def _chunk(e: Entry) -> Chunk | None:
        t, stamp, stream, data = e
        if stream not in streams or (since and t < since) or (until and t > until):
            return None
        if timestamps:
            data = stamp.encode() + b" " + data
        return Chunk(stream, data)

    return gen()
