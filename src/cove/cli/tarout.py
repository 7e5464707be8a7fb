"""Writing a tar the daemon streams (``save``, ``export``) to ``-o FILE`` or stdout.

Like docker: a terminal on stdout is refused ("cowardly refusing ..."), and ``-o`` writes
to a temp file beside the target that is renamed into place only once complete, so an
interrupted save never leaves a truncated archive under the requested name.
"""

from __future__ import annotations

import os

from cove.cli.command import StatusError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.client.api import Client, QueryValue

REFUSE = "cowardly refusing to save to a terminal. Use the -o flag or redirect"


def stream_tar(client: Client, path: str, query: dict[str, QueryValue] | None, output: str) -> None:
    from cove.client.stream import write_all

    if not output and os.isatty(1):
        raise StatusError(1, REFUSE)
    fd, tmp = 1, ""
    if output:
        target = os.path.abspath(output)
        tmp = os.path.join(
            os.path.dirname(target), f".{os.path.basename(target)}.tmp-{os.getpid()}"
        )
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as e:
            raise StatusError(1, f"failed to save image: {e.strerror or e}") from None
    try:
        resp = client.open("GET", path, query)
        try:
            for data in resp.iter_body():
                write_all(fd, data)
        finally:
            resp.close()
        if tmp:
            os.fsync(fd)
            os.close(fd)
            fd = -1
            os.replace(tmp, target)
            tmp = ""
    finally:
        if fd > 1:
            os.close(fd)
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass
