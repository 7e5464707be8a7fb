"""``cove attach``: connect the terminal to a running container's stdio."""

from __future__ import annotations

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "attach",
    "[OPTIONS] CONTAINER",
    "Attach local standard input, output, and error streams to a running container",
    [
        Flag("detach-keys", None, STRING, "Override the key sequence for detaching a container"),
        Flag("no-stdin", None, BOOL, "Do not attach STDIN"),
        Flag("sig-proxy", None, BOOL, "Proxy all received signals to the process", default=True),
    ],
    min_args=1,
    max_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
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

    client = ctx.client
    info = client.get(f"/containers/{args[0]}/json")
    state = info.get("State") or {}
    if not state.get("Running"):
        raise StatusError(1, "You cannot attach to a stopped container, start it first")
    if state.get("Paused"):
        raise StatusError(1, "You cannot attach to a paused container, unpause it first")
    if state.get("Restarting"):
        raise StatusError(
            1, "You cannot attach to a restarting container, wait until it is running"
        )
    cid = info["Id"]
    config = info.get("Config") or {}
    tty = bool(config.get("Tty"))
    stdin = not opts.on("no-stdin") and bool(config.get("OpenStdin"))
    check_tty(tty, stdin)
    keys = detach_keys(opts.text("detach-keys"))
    hijacked = open_attach(client, cid, stdin, opts.text("detach-keys"))
    waiter = Waiter(client, cid, "not-running")
    if tty and sys.stdout.isatty():
        follow_resizes(client, f"/containers/{cid}/resize")
    if opts.on("sig-proxy") and not tty:
        proxy_signals(client, cid)
    if stream(hijacked, tty=tty, stdin=stdin, keys=keys):
        waiter.close()
        raise StatusError(1, "read escape sequence")
    status, error = waiter.result()
    if error:
        ctx.err(error)
    return status
