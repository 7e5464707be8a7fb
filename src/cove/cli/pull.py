"""``cove pull``, and the pull ``run``/``create`` do when the image is missing."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from cove.cli.flags import Options
    from cove.client.api import Client

COMMAND = Command(
    "pull",
    "[OPTIONS] NAME[:TAG|@DIGEST]",
    "Download an image from a registry",
    [
        Flag("all-tags", "a", BOOL, "Download all tagged images in the repository"),
        Flag("disable-content-trust", None, BOOL, "Skip image verification", default=True),
        Flag("platform", None, STRING, "Set platform if server is multi-platform capable"),
        Flag("quiet", "q", BOOL, "Suppress verbose output"),
    ],
    min_args=1,
    max_args=1,
)


def split_ref(image: str) -> tuple[str, str, str]:
    """(familiar name, tag or digest for the API, full reference); ValueError if invalid."""
    from cove.errors import InvalidArgument
    from cove.oci.reference import parse

    try:
        ref = parse(image)
    except InvalidArgument as e:
        raise ValueError(str(e)) from None
    return ref.familiar_repository, ref.digest or ref.tag or "latest", str(ref)


def pull_image(
    client: Client, image: str, out: TextIO, *, platform: str = "", quiet: bool = False,
    all_tags: bool = False,
) -> None:  # fmt: skip
    """POST /images/create?fromImage=..&tag=..; progress to ``out`` unless quiet.

    Raises APIError for a refused request and StreamError for an error inside the stream.
    """
    from cove.cli.credentials import registry_auth_header, server_for_image
    from cove.cli.progress import display

    name, tag, _ = split_ref(image)
    query = {"fromImage": name, "tag": None if all_tags else tag, "platform": platform or None}
    auth = [("X-Registry-Auth", registry_auth_header(server_for_image(image)))]
    resp = client.open("POST", "/images/create", query, headers=auth)
    try:
        lines = resp.iter_lines()
        if quiet:
            from cove.cli.progress import StreamError
            from cove.client import jsonlite

            for raw in lines:
                msg = jsonlite.loads(raw)
                if isinstance(msg, dict) and msg.get("error"):
                    raise StreamError(str(msg["error"]))
        else:
            display(lines, out)
    finally:
        resp.close()


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.progress import StreamError

    image = args[0]
    try:
        full = split_ref(image)[2]
    except ValueError as e:
        raise StatusError(1, f"invalid reference format: {e}") from None
    if opts.on("all-tags") and ("@" in image or ":" in image.rsplit("/", 1)[-1]):
        raise StatusError(1, "tag can't be used with --all-tags/-a")
    if ":" not in image.rsplit("/", 1)[-1] and "@" not in image and not opts.on("all-tags"):
        ctx.out("Using default tag: latest")
    try:
        pull_image(ctx.client, image, sys.stdout, platform=opts.text("platform"),
                   quiet=opts.on("quiet"), all_tags=opts.on("all-tags"))  # fmt: skip
    except StreamError as e:
        raise StatusError(1, str(e)) from None
    ctx.out(full if not opts.on("all-tags") else f"{full.rsplit(':', 1)[0]}")
    return 0
