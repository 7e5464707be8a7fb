"""``cove wait``: block until each container stops and print its exit code."""

from __future__ import annotations

from cove.cli.command import Command, Context, StatusError, daemon_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "wait",
    "CONTAINER [CONTAINER...]",
    "Block until one or more containers stop, then print their exit codes",
    min_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.client.errors import APIError

    errors = []
    for name in args:
        try:
            answer = ctx.client.post(f"/containers/{name}/wait") or {}
        except APIError as e:
            errors.append(daemon_error(e.message))
            continue
        ctx.out(str(answer.get("StatusCode", 0)))
    if errors:
        raise StatusError(1, "\n".join(errors))
    return 0
