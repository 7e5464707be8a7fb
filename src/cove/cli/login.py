"""``cove login``: check credentials through the daemon (POST /auth), then store them."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "login",
    "[OPTIONS] [SERVER]",
    "Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.",
    [
        Flag("password", "p", STRING, "Password or Personal Access Token (PAT)"),
        Flag(
            "password-stdin",
            None,
            BOOL,
            "Take the Password or Personal Access Token (PAT) from stdin",
        ),
        Flag("username", "u", STRING, "Username"),
    ],
    min_args=0,
    max_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli import credentials

    server = credentials.server_key(args[0] if args else "")
    user = opts.text("username")
    password = opts.text("password")
    if opts.on("password-stdin"):
        if password:
            raise StatusError(1, "--password and --password-stdin are mutually exclusive")
        if not user:
            raise StatusError(1, "Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    elif password:
        ctx.err("WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
    if not user:
        found = credentials.lookup(server)
        sys.stdout.write(f"Username{f' ({found[0]})' if found else ''}: ")
        sys.stdout.flush()
        user = sys.stdin.readline().strip() or (found[0] if found else "")
    if not user:
        raise StatusError(1, "Error: Non-null Username Required")
    if not password:
        import getpass

        password = getpass.getpass("Password: ")
    if not password:
        raise StatusError(1, "Error: Password Required")
    body = {"username": user, "password": password, "serveraddress": server}
    ctx.client.post("/auth", body=body)
    path = credentials.store(server, user, password)
    ctx.err(f"WARNING! Your password will be stored unencrypted in {path}.")
    ctx.out("Login Succeeded")
    return 0
