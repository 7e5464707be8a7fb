"""``cove registry serve``: cove's own distribution registry, in this process.

The registry is a separate program that happens to ship with the CLI: only this verb
imports it (``cove.registry`` is not on the CLI's normal import path), and it talks to no
daemon.  ``--auth-user USER:PASSWORD`` (repeatable) with ``--auth basic|token`` protects it.
"""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, LIST, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "serve",
    "[OPTIONS]",
    "Serve an OCI distribution registry (with Docker Hub's search API)",
    [
        Flag("addr", None, STRING, "Address to listen on", default="127.0.0.1:5000"),
        Flag("root", None, STRING, "Storage directory", default="/var/lib/cove-registry"),
        Flag("tls-cert", None, STRING, "TLS certificate file (serve HTTPS)"),
        Flag("tls-key", None, STRING, "TLS key file"),
        Flag("auth", None, STRING, "Access control: basic or token"),
        Flag("auth-user", None, LIST, "A user allowed in, USER:PASSWORD", metavar="list"),
        Flag("anonymous-pull", None, BOOL, "With --auth token: let anyone pull"),
    ],
    min_args=0,
    max_args=0,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    import asyncio

    from cove.errors import CoveError
    from cove.registry.server import serve  # the one place the CLI imports the server

    users: dict[str, str] = {}
    for spec in opts.many("auth-user"):
        user, sep, pw = spec.partition(":")
        if not sep or not user:
            raise StatusError(125, f"invalid --auth-user {spec!r}: expected USER:PASSWORD")
        users[user] = pw
    mode = opts.text("auth")
    if mode not in ("", "basic", "token"):
        raise StatusError(125, f"invalid --auth {mode!r}: expected basic or token")

    def ready(where: str) -> None:
        sys.stderr.write(f"cove registry listening on {where}, storage in {opts.text('root')}\n")
        sys.stderr.flush()

    try:
        asyncio.run(
            serve(
                opts.text("addr"),
                opts.text("root"),
                tls_cert=opts.text("tls-cert"),
                tls_key=opts.text("tls-key"),
                users=users,
                auth_mode=mode,
                anonymous_pull=opts.on("anonymous-pull"),
                ready=ready,
            )
        )
    except (CoveError, OSError) as e:
        raise StatusError(1, str(e)) from None
    except KeyboardInterrupt:
        return 130
    return 0
