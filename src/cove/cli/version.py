"""``cove version``: client and daemon versions in docker's layout."""

from __future__ import annotations

import os
import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options

COMMAND = Command(
    "version",
    "[OPTIONS]",
    "Show the cove version information",
    [Flag("format", "f", STRING, "Format output using a custom template")],
    max_args=0,
)

ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def client_info(api_version: str) -> dict[str, Any]:
    from cove.cli.main import VERSION

    machine = os.uname().machine
    return {
        "Version": VERSION,
        "ApiVersion": api_version,
        "PythonVersion": sys.version.split()[0],
        "Os": sys.platform,
        "Arch": ARCH.get(machine, machine),
        "Context": "default",
    }


def client_text(c: dict[str, Any]) -> str:
    return (
        "Client:\n"
        f" Version:           {c['Version']}\n"
        f" API version:       {c['ApiVersion']}\n"
        f" Python version:    {c['PythonVersion']}\n"
        f" OS/Arch:           {c['Os']}/{c['Arch']}\n"
        f" Context:           {c['Context']}\n"
    )


def _built(text: str) -> str:
    """RFC 3339 build time -> Go's ANSIC layout (``Thu May  7 21:09:36 2026``), as docker."""
    from datetime import datetime

    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return text
    return t.strftime("%a %b ") + f"{t.day:>2}" + t.strftime(" %H:%M:%S %Y")


def server_text(s: dict[str, Any]) -> str:
    lines = [
        "Server:",
        f" {s.get('Platform', {}).get('Name', '')}".rstrip(),
        " Engine:",
        f"  Version:          {s.get('Version', '')}",
        f"  API version:      {s.get('ApiVersion', '')} (minimum version "
        f"{s.get('MinAPIVersion', '')})",
        f"  Go version:       {s.get('GoVersion', '')}",
        f"  Git commit:       {s.get('GitCommit', '')}",
        f"  Built:            {_built(s.get('BuildTime', ''))}",
        f"  OS/Arch:          {s.get('Os', '')}/{s.get('Arch', '')}",
        f"  Experimental:     {str(bool(s.get('Experimental'))).lower()}",
    ]
    lines = [ln for ln in lines if ln]
    for comp in s.get("Components") or []:
        if comp.get("Name") == "Engine":
            continue
        lines.append(f" {comp.get('Name', '')}:")
        lines.append(f"  Version:          {comp.get('Version', '')}")
        for key, value in (comp.get("Details") or {}).items():
            lines.append(f"  {key + ':':<18}{value}")
    return "\n".join(lines) + "\n"


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.client.errors import DaemonUnreachable

    client = ctx.client
    try:
        server: dict[str, Any] | None = client.get("/version")
        error = ""
    except DaemonUnreachable as e:
        server, error = None, str(e)
    client_part = client_info(client.version)
    info = {"Client": client_part, "Server": server}
    if opts.text("format"):
        from cove.cli.tmpl import render
        from cove.cli.tmpl_parse import TemplateError

        try:
            sys.stdout.write(render(opts.text("format"), info, strict=False) + "\n")
        except TemplateError as e:
            raise StatusError(1, f"template parsing error: {e}") from None
    else:
        text = client_text(client_part)
        if server is not None:
            text += "\n" + server_text(server)
        sys.stdout.write(text)
    if error:
        raise StatusError(1, error)
    return 0
