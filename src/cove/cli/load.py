"""``cove load``: POST /images/load with a tar from ``-i FILE`` or stdin."""

from __future__ import annotations

import os
import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from cove.cli.flags import Options

COMMAND = Command(
    "load",
    "[OPTIONS]",
    "Load an image from a tar archive or STDIN",
    [
        Flag("input", "i", STRING, "Read from tar archive file, instead of STDIN"),
        Flag("platform", None, STRING, "Load only the given platform variant"),
        Flag("quiet", "q", BOOL, "Suppress the load output"),
    ],
    max_args=0,
)


def _chunks(fd: int) -> Iterator[bytes]:
    while data := os.read(fd, 1 << 20):
        yield data


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.progress import StreamError, display

    path = opts.text("input")
    if path:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as e:
            raise StatusError(1, f"open {path}: {(e.strerror or str(e)).lower()}") from None
    else:
        if os.isatty(0):
            raise StatusError(1, "requested load from stdin, but stdin is empty")
        fd = 0
    quiet = opts.on("quiet") or not os.isatty(1)
    client = ctx.client
    client.negotiate()  # a streamed body cannot be sent twice
    try:
        resp = client.open("POST", "/images/load", {"quiet": quiet}, raw=_chunks(fd),
                           headers=[("Content-Type", "application/x-tar")])  # fmt: skip
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
