"""``cove exec``: create an exec instance, run it attached (or detached), exit with its code."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, LIST, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options

COMMAND = Command(
    "exec",
    "[OPTIONS] CONTAINER COMMAND [ARG...]",
    "Execute a command in a running container",
    [
        Flag("detach", "d", BOOL, "Detached mode: run command in the background"),
        Flag("detach-keys", None, STRING, "Override the key sequence for detaching a container"),
        Flag("env", "e", LIST, "Set environment variables"),
        Flag("env-file", None, LIST, "Read in a file of environment variables"),
        Flag("interactive", "i", BOOL, "Keep STDIN open even if not attached"),
        Flag("privileged", None, BOOL, "Give extended privileges to the command"),
        Flag("tty", "t", BOOL, "Allocate a pseudo-TTY"),
        Flag("user", "u", STRING, 'Username or UID (format: "<name|uid>[:<group|gid>]")'),
        Flag("workdir", "w", STRING, "Working directory inside the container"),
    ],
    min_args=2,
    interspersed=False,
)


def exec_body(opts: Options, cmd: list[str]) -> dict[str, Any]:
    from cove.cli.runparse import env_list

    detach = opts.on("detach")
    env = env_list(opts.many("env-file"), opts.many("env"))
    return {
        "User": opts.text("user"), "Privileged": opts.on("privileged"), "Tty": opts.on("tty"),
        "AttachStdin": opts.on("interactive") and not detach, "AttachStderr": not detach,
        "AttachStdout": not detach, "Detach": detach, "DetachKeys": opts.text("detach-keys"),
        "Env": env or None, "WorkingDir": opts.text("workdir"), "Cmd": cmd,
    }  # fmt: skip


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.session import check_tty, detach_keys, follow_resizes, stream

    try:
        body = exec_body(opts, args[1:])
    except ValueError as e:
        raise StatusError(125, f"cove: {e}\n\nRun '{ctx.path} --help' for more information")
    tty = bool(body["Tty"])
    stdin = bool(body["AttachStdin"])
    if not body["Detach"]:
        check_tty(tty, stdin)
    keys = detach_keys(opts.text("detach-keys"))
    client = ctx.client
    created = client.post(f"/containers/{args[0]}/exec", None, body)
    exec_id = (created or {}).get("Id")
    if not exec_id:
        raise StatusError(1, "exec ID empty")
    start = {"Detach": bool(body["Detach"]), "Tty": tty}
    if body["Detach"]:
        client.post(f"/exec/{exec_id}/start", None, start)
        return 0
    hijacked = client.hijack(f"/exec/{exec_id}/start", None, start)
    if tty and sys.stdout.isatty():
        follow_resizes(client, f"/exec/{exec_id}/resize")
    if stream(hijacked, tty=tty, stdin=stdin, keys=keys):
        raise StatusError(1, "read escape sequence")
    info = client.get(f"/exec/{exec_id}/json") or {}
    code = info.get("ExitCode")
    return int(code) if isinstance(code, int) else 0
