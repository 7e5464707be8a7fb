"""``cove push``: POST /images/{name}/push?tag=.. with the stored credentials."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "push",
    "[OPTIONS] NAME[:TAG]",
    "Upload an image to a registry",
    [
        Flag("all-tags", "a", BOOL, "Push all tags of an image to the repository"),
        Flag("disable-content-trust", None, BOOL, "Skip image signing", default=True),
        Flag("platform", None, STRING, "Push a platform-specific manifest (ignored)"),
        Flag("quiet", "q", BOOL, "Suppress verbose output"),
    ],
    min_args=1,
    max_args=1,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.credentials import registry_auth_header
    from cove.cli.progress import StreamError, display
    from cove.client import jsonlite
    from cove.errors import InvalidArgument
    from cove.oci.reference import parse

    image = args[0]
    try:
        ref = parse(image, default_tag=None)
    except InvalidArgument as e:
        raise StatusError(1, f"invalid reference format: {e}") from None
    if ref.digest:
        raise StatusError(1, "cannot push a digest reference")
    if opts.on("all-tags") and ref.tag:
        raise StatusError(1, "tag can't be used with --all-tags/-a")
    tag = ref.tag
    if not tag and not opts.on("all-tags"):
        ctx.out("Using default tag: latest")
        tag = "latest"
    header = registry_auth_header(ref.domain)
    resp = ctx.client.open(
        "POST",
        f"/images/{ref.familiar_repository}/push",
        {"tag": tag},
        headers=[("X-Registry-Auth", header)],
    )
    try:
        if opts.on("quiet"):
            for raw in resp.iter_lines():
                msg = jsonlite.loads(raw)
                if isinstance(msg, dict) and msg.get("error"):
                    raise StreamError(str(msg["error"]))
            ctx.out(f"{ref.familiar_repository}:{tag}" if tag else ref.familiar_repository)
        else:
            display(resp.iter_lines(), sys.stdout)
    except StreamError as e:
        raise StatusError(1, str(e)) from None
    finally:
        resp.close()
    return 0
