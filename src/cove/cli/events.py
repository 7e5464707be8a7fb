"""``cove events``: the daemon's event stream (GET /events), one line per event."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import LIST, STRING, Flag
from cove.client import jsonlite as json
from cove.util.timefmt import rfc3339_nano

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options

COMMAND = Command(
    "events",
    "[OPTIONS]",
    "Get real time events from the server",
    [
        Flag("filter", "f", LIST, "Filter output based on conditions provided", metavar="filter"),
        Flag("format", None, STRING, "Format output using a custom template"),
        Flag("since", None, STRING, "Show all events created since timestamp"),
        Flag("until", None, STRING, "Stream events until this timestamp"),
    ],
    max_args=0,
)


def line(ev: dict[str, Any]) -> str:
    actor = ev.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    shown = ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs))
    ns = int(ev.get("timeNano") or int(ev.get("time", 0)) * 1_000_000_000)
    text = f"{rfc3339_nano(ns)} {ev.get('Type')} {ev.get('Action')} {actor.get('ID', '')}"
    return f"{text} ({shown})" if shown else text


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.logs import api_timestamp
    from cove.cli.ps import parse_filters

    try:
        since = api_timestamp(opts.text("since")) if opts.text("since") else None
        until = api_timestamp(opts.text("until")) if opts.text("until") else None
        filters = parse_filters(opts.many("filter"))
    except ValueError as e:
        raise StatusError(125, str(e)) from None
    fmt = opts.text("format")
    query = {"since": since, "until": until, "filters": filters}
    resp = ctx.client.open("GET", "/events", query)
    buf = b""
    try:
        for data in resp.iter_body():
            buf += data
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                if not raw.strip():
                    continue
                ev = json.loads(raw)
                if fmt:
                    from cove.cli.formatter import render

                    out = render(fmt if fmt != "json" else "{{json .}}", fmt, [ev], {})
                    sys.stdout.write(out)
                else:
                    sys.stdout.write(line(ev) + "\n")
                sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        resp.close()
    return 0
