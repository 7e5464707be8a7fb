"""``cove create``, and ``create_container`` which ``run`` shares: pull when missing, create,
print warnings, write the cidfile."""

from __future__ import annotations

import os
import sys

from cove.cli.command import Command, Context, StatusError, daemon_error
from cove.cli.runflags import CONTAINER_FLAGS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options
    from cove.cli.runspec import Spec

COMMAND = Command(
    "create",
    "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    "Create a new container",
    sorted(CONTAINER_FLAGS, key=lambda f: f.long),
    min_args=1,
    interspersed=False,
)


def usage_failure(ctx: Context, message: str) -> StatusError:
    """docker's shape for a run/create error: ``cove: msg`` + the help hint, exit 125."""
    return StatusError(125, f"cove: {message}\n\nRun '{ctx.path} --help' for more information")


def _not_found_image(e: Exception) -> bool:
    from cove.client.errors import APIError

    return isinstance(e, APIError) and e.status == 404 and "no such image" in e.message.lower()


def _pull(ctx: Context, spec: Spec) -> None:
    from cove.cli.pull import pull_image

    pull_image(ctx.client, spec.image, sys.stderr, platform=spec.platform, quiet=spec.quiet)


def create_container(ctx: Context, spec: Spec) -> str:
    """Create the container and return its ID.

    Raises APIError when the daemon refuses, StreamError when the pull fails midway.
    """
    from cove.cli.pull import split_ref

    if spec.cidfile and os.path.exists(spec.cidfile):
        raise usage_failure(
            ctx,
            "container ID file found, make sure the other container isn't running or delete "
            + spec.cidfile,
        )
    query = {"name": spec.name or None, "platform": spec.platform or None}
    if spec.pull == "always":
        _pull(ctx, spec)
    try:
        answer = ctx.client.post("/containers/create", query, spec.body)
    except Exception as e:
        if not _not_found_image(e) or spec.pull == "never":
            raise
        try:
            shown = "{}:{}".format(*split_ref(spec.image)[:2])
            if "@" in spec.image:
                shown = shown.replace(":sha256", "@sha256", 1)
        except ValueError:
            shown = spec.image
        sys.stderr.write(f"Unable to find image '{shown}' locally\n")
        sys.stderr.flush()
        _pull(ctx, spec)
        answer = ctx.client.post("/containers/create", query, spec.body)
    for warning in answer.get("Warnings") or []:
        sys.stderr.write(f"WARNING: {warning}\n")
    cid = str(answer["Id"])
    if spec.cidfile:
        with open(spec.cidfile, "w") as f:
            f.write(cid)
    return cid


def build_spec(ctx: Context, opts: Options, args: list[str], detach: bool) -> Spec:
    from cove.cli.runspec import build

    console = (0, 0)
    if opts.on("tty") and sys.stdout.isatty():
        try:
            size = os.get_terminal_size(sys.stdout.fileno())
            console = (size.lines, size.columns)
        except OSError:
            pass
    try:
        return build(opts, args[0], args[1:], detach=detach, console=console)
    except ValueError as e:
        raise usage_failure(ctx, str(e)) from None


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.progress import StreamError
    from cove.client.errors import APIError

    spec = build_spec(ctx, opts, args, detach=False)
    try:
        cid = create_container(ctx, spec)
    except APIError as e:
        raise StatusError(1, daemon_error(e.message)) from None
    except StreamError as e:
        raise StatusError(1, str(e)) from None
    ctx.out(cid)
    return 0
