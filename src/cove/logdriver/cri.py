"""The CRI log format conmon writes ("k8s-file"), one record per line (pure).

``<RFC 3339 time with nanoseconds and offset> <stdout|stderr> <P|F> <bytes>\\n``: F ends a
line of the container's output (its newline is the record's), P is a piece of a longer
line (a read that ended mid-line); the next record goes on with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

STDOUT, STDERR = 1, 2
Record = tuple[bytes, int, bytes]  # (conmon's timestamp, stream, data with its newline if F)


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


def is_full(line: bytes) -> bool:
    """Whether a record line ends a line of output (its flag is F), cheaply."""
    i = line.find(b" ")
    j = line.find(b" ", i + 1)
    return line[j + 1 : j + 2] == b"F"


def docker_time(ts: bytes) -> tuple[float, str]:
    """conmon's ``2026-11-28T06:18:54.123456789+01:00`` -> (epoch seconds, Docker's
    ``2026-11-28T05:18:54.123456789Z``); (0.0, the text) when it does not parse."""
    text = ts.decode(errors="replace")
    if text.endswith("+00:00") and len(text) == 35:  # the usual UTC case, no date math
        base = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        return base.timestamp() + int(text[20:29]) / 1e9, text[:29] + "Z"
    main, _, rest = text.partition(".")
    n = len(rest) - len(rest.lstrip("0123456789"))
    frac, off = rest[:n], rest[n:]
    try:
        base = datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return 0.0, text
    if off and off[0] in "+-" and len(off) >= 6 and off[1:3].isdigit() and off[4:6].isdigit():
        delta = timedelta(hours=int(off[1:3]), minutes=int(off[4:6]))
        base = base - delta if off[0] == "+" else base + delta
    frac = (frac + "000000000")[:9]
    return base.timestamp() + int(frac) / 1e9, base.strftime("%Y-%m-%dT%H:%M:%S") + f".{frac}Z"


def epoch(ts: bytes) -> float:
    return docker_time(ts)[0]
