"""``cove import``: a rootfs tarball (file, URL or stdin) becomes an image."""

from __future__ import annotations

import os
import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import LIST, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from cove.cli.flags import Options

COMMAND = Command(
    "import",
    "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    "Import the contents from a tarball to create a filesystem image",
    [
        Flag("change", "c", LIST, "Apply Dockerfile instruction to the created image"),
        Flag("message", "m", STRING, "Set commit message for imported image"),
        Flag("platform", None, STRING, "Set platform if server is multi-platform capable"),
    ],
    min_args=1,
    max_args=2,
)


def _chunks(fd: int) -> Iterator[bytes]:
    while data := os.read(fd, 1 << 16):
        yield data


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.progress import StreamError, display

    source = args[0]
    repo = args[1] if len(args) > 1 else None
    if repo:
        from cove.cli.pull import split_ref

        try:
            split_ref(repo)
        except ValueError as e:
            raise StatusError(1, str(e)) from None
    query = {
        "fromSrc": source if "://" in source else "-", "repo": repo,
        "message": opts.text("message") or None, "changes": opts.many("change") or None,
        "platform": opts.text("platform") or None,
    }  # fmt: skip
    client = ctx.client
    body: Iterator[bytes] | None = None
    fd = -1
    if source == "-":
        fd = 0
    elif "://" not in source:
        try:
            fd = os.open(source, os.O_RDONLY)
        except OSError as e:
            raise StatusError(1, f"open {source}: {(e.strerror or str(e)).lower()}") from None
    if fd >= 0:
        body = _chunks(fd)
        client.negotiate()  # a streamed body cannot be sent twice
    try:
        resp = client.open("POST", "/images/create", query, raw=body,
                           headers=[("Content-Type", "text/plain")])  # fmt: skip
        try:
            display(resp.iter_lines(), sys.stdout)
        finally:
            resp.close()
    except StreamError as e:
        raise StatusError(1, str(e)) from None
    finally:
        if fd > 0:
            os.close(fd)
    return 0
