"""``cove logs``: GET /containers/{id}/logs, demultiplexed unless the container has a TTY."""

from __future__ import annotations

import time

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "logs",
    "[OPTIONS] CONTAINER",
    "Fetch the logs of a container",
    [
        Flag("details", None, BOOL, "Show extra details provided to logs"),
        Flag("follow", "f", BOOL, "Follow log output"),
        Flag(
            "since",
            None,
            STRING,
            'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") '
            'or relative (e.g. "42m" for 42 minutes)',
        ),
        Flag(
            "tail", "n", STRING, "Number of lines to show from the end of the logs", default="all"
        ),
        Flag("timestamps", "t", BOOL, "Show timestamps"),
        Flag(
            "until",
            None,
            STRING,
            'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z")'
            ' or relative (e.g. "42m" for 42 minutes)',
        ),
    ],
    min_args=1,
    max_args=1,
)


def api_timestamp(value: str, now: float | None = None) -> str:
    """docker's ``GetTimestamp``: a duration ago, an RFC 3339 time, or unix seconds as is."""
    from cove.cli.units import parse_go_duration

    now = time.time() if now is None else now
    if value != "0":
        try:
            return str(int(now - parse_go_duration(value) / 1e9))
        except ValueError:
            pass
    if "-" in value:
        from datetime import datetime

        try:
            t = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f'parsing time "{value}": cannot parse') from None
        ts = t.timestamp()
        return f"{int(ts // 1)}.{t.microsecond * 1000:09d}"
    sec, _, frac = value.partition(".")
    if not sec.isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f'failed to parse value as time or duration: "{value}"')
    return value


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from itertools import groupby
    from operator import itemgetter

    from cove.client.stream import FrameDecoder, write_all

    client = ctx.client
    info = client.get(f"/containers/{args[0]}/json")
    tty = bool((info.get("Config") or {}).get("Tty"))
    try:
        since = api_timestamp(opts.text("since")) if opts.text("since") else None
        until = api_timestamp(opts.text("until")) if opts.text("until") else None
    except ValueError as e:
        raise StatusError(1, str(e)) from None
    query = {
        "stdout": True, "stderr": True, "since": since, "until": until,
        "timestamps": opts.on("timestamps"), "follow": opts.on("follow"),
        "tail": opts.text("tail") or "all", "details": opts.on("details"),
    }  # fmt: skip
    resp = client.open("GET", f"/containers/{info['Id']}/logs", query)
    decoder = None if tty else FrameDecoder()
    try:
        for data in resp.iter_body():
            if decoder is None:
                write_all(1, data)
                continue
            # one write per run of one stream, not one per line (a frame is a line)
            for stream, run in groupby(decoder.feed(data), key=itemgetter(0)):
                write_all(2 if stream == 2 else 1, b"".join(p for _s, p in run))
    finally:
        resp.close()
    return 0
