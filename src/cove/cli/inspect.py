"""``cove inspect``: raw API objects, re-indented as docker prints them, or a Go template."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError, daemon_error
from cove.cli.flags import BOOL, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options
    from cove.client.api import Client

COMMAND = Command(
    "inspect",
    "[OPTIONS] NAME|ID [NAME|ID...]",
    "Return low-level information on Docker objects",
    [
        Flag("format", "f", STRING, "Format output using a custom template"),
        Flag("size", "s", BOOL, "Display total file sizes if the type is container"),
        Flag("type", None, STRING, "Only inspect objects of the given type"),
    ],
    min_args=1,
)

PATHS = {
    "container": "/containers/{}/json",
    "image": "/images/{}/json",
    "network": "/networks/{}",
    "volume": "/volumes/{}",
}


def fetch_raw(client: Client, kind: str, name: str, size: bool) -> str:
    """The object's JSON text as the daemon sent it; APIError when it is not there."""
    query = {"size": size} if kind == "container" else None
    resp = client.open("GET", PATHS[kind].format(name), query)
    try:
        return resp.read().decode("utf-8")
    finally:
        resp.close()


def find(client: Client, kinds: list[str], name: str, size: bool) -> str:
    from cove.client.errors import APIError

    for kind in kinds:
        try:
            return fetch_raw(client, kind, name, size)
        except APIError as e:
            if e.status != 404 or len(kinds) == 1:
                raise
    raise LookupError(name)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.jsonfmt import join_indented
    from cove.client.errors import APIError

    kind = opts.text("type") or ctx.group
    if kind and kind not in PATHS:
        raise StatusError(1, f'"{kind}" is not a valid value for --type')
    kinds = [kind] if kind else list(PATHS)
    template = None
    if opts.text("format"):
        from cove.cli.tmpl import Template
        from cove.cli.tmpl_parse import TemplateError

        fmt = opts.text("format").replace("\\t", "\t").replace("\\n", "\n")
        if fmt == "json":
            fmt = "{{json .}}"
        try:
            template = Template(fmt, strict=True)
        except TemplateError as e:
            raise StatusError(1, f"template parsing error: template: :1: {e}") from None
    raws: list[str] = []
    errors: list[str] = []
    for name in args:
        try:
            raw = find(ctx.client, kinds, name, opts.on("size"))
        except LookupError:
            errors.append(f"Error: No such object: {name}")
            continue
        except APIError as e:
            errors.append(daemon_error(e.message))
            continue
        if template is None:
            raws.append(raw)
            continue
        from cove.client.jsonlite import loads

        try:
            sys.stdout.write(template.execute(loads(raw)) + "\n")
        except TemplateError as e:
            sys.stdout.write("\n")  # docker flushes the (empty) partial output too
            errors.append(f"template parsing error: {e}")
    if template is None:
        sys.stdout.write(join_indented(raws) + "\n")
    if errors:
        raise StatusError(1, "\n".join(errors))
    return 0
