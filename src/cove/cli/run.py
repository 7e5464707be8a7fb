"""``cove run``: create (pulling if needed), attach, wait, start, stream, exit with the status.

The order is docker's: the attach stream and the wait are opened before the start so no
output and no exit is missed.  Errors before the container runs exit 125, or 126/127 when
the daemon says the command could not be executed or found.
"""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError, daemon_error
from cove.cli.create import build_spec, create_container, usage_failure
from cove.cli.runflags import run_flags

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options
    from cove.cli.runspec import Spec

COMMAND = Command(
    "run",
    "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    "Create and run a new container from an image",
    run_flags(),
    min_args=1,
    interspersed=False,
)


def start_exit_code(message: str) -> int:
    """docker's ``runStartContainerErr``: 127 not found, 126 not executable, else 125."""
    if any(s in message for s in ("executable file not found", "no such file or directory",
                                  "system cannot find the file specified")):  # fmt: skip
        return 127
    if "permission denied" in message or "is a directory" in message:
        return 126
    return 125


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.progress import StreamError
    from cove.cli.session import check_tty, detach_keys
    from cove.client.errors import APIError

    detach = opts.on("detach")
    if detach and opts.many("attach"):
        raise StatusError(1, "conflicting options: cannot specify both --attach and --detach")
    spec = build_spec(ctx, opts, args, detach)
    body = spec.body
    if not detach:
        check_tty(spec.tty, bool(body["AttachStdin"]))
    keys = detach_keys(opts.text("detach-keys"))
    try:
        cid = create_container(ctx, spec)
    except APIError as e:
        raise usage_failure(ctx, daemon_error(e.message)) from None
    except StreamError as e:
        raise usage_failure(ctx, str(e)) from None
    client = ctx.client
    if detach:
        try:
            client.post(f"/containers/{cid}/start")
        except APIError as e:
            failure = usage_failure(ctx, daemon_error(e.message))
            raise StatusError(start_exit_code(e.message), failure.message) from None
        ctx.out(cid)
        return 0
    return _attached(ctx, opts, spec, cid, keys)


def _attached(ctx: Context, opts: Options, spec: Spec, cid: str, keys: bytes) -> int:
    from cove.cli.session import follow_resizes, open_attach, proxy_signals, stream
    from cove.cli.waiter import Waiter
    from cove.client.errors import APIError

    client = ctx.client
    body = spec.body
    tty, auto_remove = spec.tty, spec.auto_remove
    stdin = bool(body["AttachStdin"])
    hijacked = open_attach(
        client,
        cid,
        stdin,
        opts.text("detach-keys"),
        bool(body["AttachStdout"]),
        bool(body["AttachStderr"]),
    )
    waiter = Waiter(client, cid, "removed" if auto_remove else "next-exit")
    try:
        client.post(f"/containers/{cid}/start")
    except APIError as e:
        hijacked.close()
        if auto_remove:
            waiter.result(timeout=5.0)
        else:
            waiter.close()
        failure = usage_failure(ctx, daemon_error(e.message))
        raise StatusError(start_exit_code(e.message), failure.message) from None
    if tty and sys.stdout.isatty():
        follow_resizes(client, f"/containers/{cid}/resize")
    if not tty and opts.on("sig-proxy"):
        proxy_signals(client, cid)
    if stream(hijacked, tty=tty, stdin=stdin, keys=keys):
        waiter.close()
        return 0
    status, error = waiter.result()
    if error:
        ctx.err(error)
    return status
