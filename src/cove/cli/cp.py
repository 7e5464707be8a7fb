"""``cove cp``: copy between a container and the host (or a tar on stdin/stdout).

Docker's rules for where things land: into an existing directory under their own name
(``src/.`` copies a directory's contents), over an existing file, or under the new name
when the destination does not exist (its parent must).
"""

from __future__ import annotations

import os
import sys
from typing import cast

from cove.cli.command import Command, Context, StatusError, daemon_error
from cove.cli.flags import BOOL, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO, Any

    from cove.cli.flags import Options
    from cove.client.api import Client

COMMAND = Command(
    "cp",
    "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tcove cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
    "Copy files/folders between a container and the local filesystem\n\n"
    "Use '-' as the source to read a tar archive from stdin\n"
    "and extract it to a directory destination in a container.\n"
    "Use '-' as the destination to stream a tar archive of a\n"
    "container source to stdout.",
    [
        Flag("archive", "a", BOOL, "Archive mode (copy all uid/gid information)"),
        Flag("follow-link", "L", BOOL, "Always follow symbol link in SRC_PATH"),
        Flag(
            "quiet",
            "q",
            BOOL,
            "Suppress progress output during copy. Progress output is "
            "automatically suppressed if no terminal is attached",
        ),
    ],
    min_args=2,
    max_args=2,
)
_DIR_BIT = 1 << 31
_LINK_BIT = 1 << 27


def _split(arg: str) -> tuple[str, str]:
    """("container", "path") for ``ctr:path``; ("", arg) for a local path."""
    if arg.startswith((".", "/")) or ":" not in arg:
        return "", arg
    ctr, _, path = arg.partition(":")
    return ctr, path


def _stat(client: Client, ctr: str, path: str) -> dict[str, Any] | None:
    """HEAD /containers/{id}/archive: the stat, None when the path does not exist."""
    import base64

    from cove.client import jsonlite as json
    from cove.client.api import USER_AGENT
    from cove.client.errors import APIError
    from cove.client.http import read_response, send_request

    sock = client.connect()
    try:
        target = client.url(f"/containers/{ctr}/archive", {"path": path})
        send_request(sock, "HEAD", target, [("User-Agent", USER_AGENT)], None)
        resp = read_response(sock)
    finally:
        sock.close()
    if resp.status == 404:
        client.get(f"/containers/{ctr}/json")  # "No such container" comes from here
        return None
    if resp.status >= 400:
        raise APIError(resp.status, f"{resp.status} {resp.reason}")
    raw = resp.headers.get("x-docker-container-path-stat", "")
    st: dict[str, Any] = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
    return st


def _missing(path: str, ctr: str) -> StatusError:
    return StatusError(1, daemon_error(f"Could not find the file {path} in container {ctr}"))


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    (sc, sp), (dc, dp) = _split(args[0]), _split(args[1])
    if sc and dc:
        raise StatusError(1, "copying between containers is not supported")
    if not sc and not dc:
        raise StatusError(1, "must specify at least one container source")
    if sc:
        return _from_container(ctx, opts, sc, sp, dp)
    return _to_container(ctx, opts, sp, dc, dp)


def _from_container(ctx: Context, opts: Options, ctr: str, src: str, dst: str) -> int:
    from cove.cli.cp_local import CopyError, IterReader, extract

    client = ctx.client
    st = _stat(client, ctr, src)
    if st is None:
        raise _missing(src, ctr)
    name = os.path.basename(src.rstrip("/")) or "/"
    if opts.on("follow-link") and st["mode"] & _LINK_BIT and st.get("linkTarget"):
        src = st["linkTarget"]
        st = _stat(client, ctr, src) or st
    resp = client.open("GET", f"/containers/{ctr}/archive", {"path": src})
    counter = [0]
    try:
        if dst == "-":
            out = sys.stdout.buffer
            for chunk in resp.iter_body():
                out.write(chunk)
            out.flush()
            return 0
        top = "." if src.endswith("/.") else os.path.basename(src.rstrip("/")) or "."
        src_dir = bool(st["mode"] & _DIR_BIT)
        if os.path.isdir(dst):
            into, rename = dst, None
        elif os.path.lexists(dst):
            if src_dir:
                raise StatusError(1, f"cannot overwrite non-directory {dst} with directory {src}")
            into, rename = os.path.dirname(os.path.abspath(dst)), (top, os.path.basename(dst))
        else:
            if dst.endswith("/") and not src_dir:
                raise StatusError(1, f"destination directory {dst} does not exist")
            parent = os.path.dirname(os.path.abspath(dst.rstrip("/")))
            if not os.path.isdir(parent):
                raise StatusError(1, f"no such directory: {parent}")
            into = parent
            rename = (top, os.path.basename(dst.rstrip("/")))
            if top == ".":
                os.mkdir(os.path.join(parent, rename[1]))
                into, rename = os.path.join(parent, rename[1]), None
        if rename is None and top != name and top != ".":
            rename = (top, name)
        try:
            extract(
                cast("IO[bytes]", IterReader(_count(resp.iter_body(), counter))),
                into,
                rename,
                opts.on("archive"),
            )
        except (CopyError, OSError) as e:
            raise StatusError(1, str(e)) from None
    finally:
        resp.close()
    _report(opts, counter[0], dst)
    return 0


def _to_container(ctx: Context, opts: Options, src: str, ctr: str, dst: str) -> int:
    client = ctx.client
    st = _stat(client, ctr, dst)
    if st is not None and st["mode"] & _LINK_BIT and st.get("linkTarget"):
        dst = st["linkTarget"]
        st = _stat(client, ctr, dst)
    query = {"copyUIDGID": opts.on("archive"), "noOverwriteDirNonDir": True}
    if src == "-":
        if st is None:
            raise _missing(dst, ctr)
        if not st["mode"] & _DIR_BIT:
            raise StatusError(1, f'destination "{ctr}:{dst}" must be a directory')
        body = iter(lambda: sys.stdin.buffer.read(1 << 16), b"")
        client.open("PUT", f"/containers/{ctr}/archive", {"path": dst, **query}, raw=body).close()
        return 0
    from cove.cli.cp_local import tar_path

    if opts.on("follow-link"):
        src = os.path.realpath(src)
    if not os.path.lexists(src):
        raise StatusError(1, f"stat {src}: no such file or directory")
    src_dir = os.path.isdir(src) and not os.path.islink(src)
    top = "." if src.endswith("/.") else os.path.basename(os.path.abspath(src))
    if st is not None and st["mode"] & _DIR_BIT:
        into, name = dst, top
    elif st is not None:
        if src_dir:
            raise StatusError(1, f"cannot overwrite non-directory {ctr}:{dst} with directory {src}")
        into, name = os.path.dirname(dst.rstrip("/")) or "/", os.path.basename(dst)
    else:
        if dst.endswith("/"):
            raise StatusError(1, "no such directory")
        into, name = os.path.dirname(dst) or "/", os.path.basename(dst)
        if _stat(client, ctr, into) is None:
            raise _missing(into, ctr)
    counter = [0]
    body = _count(tar_path(src, name), counter)
    client.open("PUT", f"/containers/{ctr}/archive", {"path": into, **query}, raw=body).close()
    _report(opts, counter[0], f"{ctr}:{dst}")
    return 0


def _count(chunks: Iterator[bytes], counter: list[int]) -> Iterator[bytes]:
    for chunk in chunks:
        counter[0] += len(chunk)
        yield chunk


def _report(opts: Options, size: int, dst: str) -> None:
    """docker's closing line, on a terminal only (as its progress output)."""
    if opts.on("quiet") or not sys.stderr.isatty():
        return
    n, unit = float(size), "B"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            break
        n /= 1000
    sys.stderr.write(f"Successfully copied {n:.4g}{unit} to {dst}\n")
