"""``cove start``: start containers; with -a/-i attach to one and exit with its status."""

from __future__ import annotations

from cove.cli.command import Command, Context, StatusError, daemon_error
from cove.cli.flags import BOOL, STRING, Flag
from cove.cli.multi import each

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "start",
    "[OPTIONS] CONTAINER [CONTAINER...]",
    "Start one or more stopped containers",
    [
        Flag("attach", "a", BOOL, "Attach STDOUT/STDERR and forward signals"),
        Flag("detach-keys", None, STRING, "Override the key sequence for detaching a container"),
        Flag("interactive", "i", BOOL, "Attach container's STDIN"),
    ],
    min_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    if not (opts.on("attach") or opts.on("interactive")):
        return each(
            args,
            lambda n: ctx.client.post(f"/containers/{n}/start"),
            summary="failed to start containers",
        )
    if len(args) > 1:
        raise StatusError(1, "you cannot start and attach multiple containers at once")
    return _attach_and_start(ctx, opts, args[0])


def _attach_and_start(ctx: Context, opts: Options, name: str) -> int:
    import sys

    from cove.cli.session import (
        check_tty,
        detach_keys,
        follow_resizes,
        open_attach,
        proxy_signals,
        stream,
    )
    from cove.cli.waiter import Waiter
    from cove.client.errors import APIError

    client = ctx.client
    info = client.get(f"/containers/{name}/json")
    cid = info["Id"]
    config = info.get("Config") or {}
    tty = bool(config.get("Tty"))
    stdin = opts.on("interactive") and bool(config.get("OpenStdin"))
    check_tty(tty, stdin)
    keys = detach_keys(opts.text("detach-keys"))
    auto_remove = bool((info.get("HostConfig") or {}).get("AutoRemove"))
    hijacked = open_attach(client, cid, stdin, opts.text("detach-keys"))
    waiter = Waiter(client, cid, "removed" if auto_remove else "next-exit")
    try:
        client.post(f"/containers/{cid}/start")
    except APIError as e:
        hijacked.close()
        waiter.close()
        raise StatusError(1, daemon_error(e.message)) from None
    if tty and sys.stdout.isatty():
        follow_resizes(client, f"/containers/{cid}/resize")
    if not tty:
        proxy_signals(client, cid)
    if stream(hijacked, tty=tty, stdin=stdin, keys=keys):
        waiter.close()
        return 0
    status, error = waiter.result()
    if error:
        ctx.err(error)
    return status
