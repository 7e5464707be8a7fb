"""``cove build``: send a context to ``POST /build`` and show the classic builder's output.

The context is a directory (tarred here, with ``.dockerignore`` applied as docker's CLI
does: the Dockerfile and .dockerignore always travel), ``-`` (stdin: a tar, or a bare
Dockerfile), and ``-f`` may name a Dockerfile outside the context or ``-`` for stdin.
"""

from __future__ import annotations

import os
import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, LIST, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO, Any

    from cove.cli.flags import Options

COMMAND = Command(
    "build",
    "[OPTIONS] PATH | URL | -",
    "Build an image from a Dockerfile",
    [
        Flag("add-host", None, LIST, 'Add a custom host-to-IP mapping ("host:ip")', metavar="list"),
        Flag("build-arg", None, LIST, "Set build-time variables", metavar="list"),
        Flag(
            "build-context",
            None,
            LIST,
            "Additional build contexts (e.g., name=path)",
            metavar="stringArray",
        ),
        Flag("cache-from", None, LIST, "Images to consider as cache sources", metavar="strings"),
        Flag("check", None, BOOL, "Run the build checks on the Dockerfile and exit"),
        Flag("file", "f", STRING, "Name of the Dockerfile (Default is 'PATH/Dockerfile')"),
        Flag("force-rm", None, BOOL, "Always remove intermediate containers"),
        Flag("iidfile", None, STRING, "Write the image ID to the file"),
        Flag("label", None, LIST, "Set metadata for an image", metavar="list"),
        Flag("metadata-file", None, STRING, "Write build result metadata to a file"),
        Flag(
            "network",
            None,
            STRING,
            "Set the networking mode for the RUN instructions during build",
            default="default",
        ),
        Flag("no-cache", None, BOOL, "Do not use cache when building the image"),
        Flag(
            "output",
            "o",
            LIST,
            'Output destination (format: "type=local,dest=path")',
            metavar="stringArray",
        ),
        Flag("platform", None, STRING, "Set platform if server is multi-platform capable"),
        Flag("pull", None, BOOL, "Always attempt to pull a newer version of the image"),
        Flag("quiet", "q", BOOL, "Suppress the build output and print image ID on success"),
        Flag(
            "rm",
            None,
            BOOL,
            "Remove intermediate containers after a successful build",
            default=True,
        ),
        Flag(
            "secret",
            None,
            LIST,
            'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")',
            metavar="stringArray",
        ),
        Flag(
            "ssh",
            None,
            LIST,
            'SSH agent socket or keys to expose to the build (format: "default|<id>[=<socket>]")',
            metavar="stringArray",
        ),
        Flag(
            "tag", "t", LIST, 'Name and optionally a tag in the "name:tag" format', metavar="list"
        ),
        Flag("target", None, STRING, "Set the target build stage to build."),
    ],
    min_args=1,
    max_args=1,
)


def _kv(items: list[str], env_fallback: bool) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items:
        k, eq, v = item.partition("=")
        if eq:
            out[k] = v
        elif env_fallback:
            out[k] = os.environ.get(k)  # docker: "--build-arg NAME" takes it from the env
        else:
            out[k] = ""
    return out


def _matcher(ignore: str) -> Any:
    from cove.util.dockerignore import Matcher

    if not os.path.isfile(ignore):
        return Matcher([])
    with open(ignore, encoding="utf-8", errors="replace") as f:
        try:
            return Matcher.from_text(f.read())
        except ValueError as e:
            raise StatusError(1, f"error reading .dockerignore: {e}") from None


def tar_context(
    root: str,
    dockerfile: str | None,
    stdin_df: bytes | None,
    named: dict[str, str] | None = None,
) -> tuple[IO[bytes], str]:
    """(a temp file holding the context tar, the Dockerfile's name inside it).  ``named``
    directory contexts travel under ``.cove-build-contexts/<name>/``."""
    import tempfile

    from cove.cli.buildctx import TarWriter, finish, write_context
    from cove.cli.buildout import ignore_file

    ignore = ignore_file(root, dockerfile)
    matcher = _matcher(ignore)
    df_name = "Dockerfile"
    extra: tuple[str, bytes] | None = None
    if stdin_df is not None:
        df_name = "__dockerfile-stdin__"
        extra = (df_name, stdin_df)
    elif dockerfile:
        full = os.path.abspath(dockerfile)
        rel = os.path.relpath(full, os.path.abspath(root))
        if rel.startswith(".."):
            with open(full, "rb") as f:
                df_name = "__dockerfile-" + os.path.basename(full)
                extra = (df_name, f.read())
        else:
            df_name = rel.replace(os.sep, "/")
    always = {df_name, ".dockerignore"}
    own = os.path.relpath(ignore, os.path.abspath(root))
    if not own.startswith(".."):
        always.add(own.replace(os.sep, "/"))  # Dockerfile.dockerignore: the daemon reads it too
    out = tempfile.TemporaryFile()  # noqa: SIM115 - returned to the caller
    write_context(out, root, matcher, always)
    for name, path in (named or {}).items():
        prefix = f".cove-build-contexts/{name.lower().replace('/', '_')}/"
        sub = _matcher(os.path.join(path, ".dockerignore"))
        write_context(out, path, sub, set(), prefix)
    if extra is not None:
        TarWriter(out).add_bytes(extra[0], extra[1])
    finish(out)
    out.seek(0)
    return out, df_name


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    while data := f.read(1 << 16):
        yield data


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    import io
    import json

    from cove.cli.progress import StreamError, display

    path = args[0]
    quiet = opts.on("quiet")
    dockerfile = opts.text("file") or None
    from cove.cli import buildout

    named = dict(buildout.parse_context(c) for c in opts.many("build-context"))
    secrets = dict(buildout.parse_secret(s) for s in opts.many("secret"))
    ssh = dict(buildout.parse_ssh(s) for s in opts.many("ssh"))
    outputs = [buildout.parse_output(o) for o in opts.many("output")]
    remote = None
    body: IO[bytes]
    if "://" in path or path.startswith(("git@", "github.com/")):
        # the daemon fetches it (dockerd's remote=): a git repository or a tarball
        remote, body, df_name, size_note = path, io.BytesIO(b""), dockerfile or "Dockerfile", ""
        if dockerfile == "-":
            raise StatusError(1, "cannot use a stdin Dockerfile with a remote context")
    elif path == "-":
        if dockerfile == "-":
            raise StatusError(1, "invalid argument: can't use stdin for both build context "
                                 "and dockerfile")  # fmt: skip
        body = sys.stdin.buffer
        df_name = dockerfile or "Dockerfile"
        size_note = ""
    else:
        if not os.path.isdir(path):
            raise StatusError(1, f'unable to prepare context: path "{path}" not found')
        stdin_df = sys.stdin.buffer.read() if dockerfile == "-" else None
        if dockerfile and dockerfile != "-" and not os.path.exists(dockerfile):
            raise StatusError(
                1, "unable to prepare context: the Dockerfile "
                f"({dockerfile}) cannot be found"
            )  # fmt: skip
        dirs = {k: v for k, v in named.items() if not v.startswith("docker-image://")}
        body, df_name = tar_context(path, None if dockerfile == "-" else dockerfile, stdin_df, dirs)
        size = os.fstat(body.fileno()).st_size
        size_note = f"Sending build context to Docker daemon  {_size(size)}\n"
    query: dict[str, Any] = {
        "t": opts.many("tag") or None,
        "dockerfile": df_name,
        "q": "1" if quiet else None,
        "nocache": "1" if opts.on("no-cache") else None,
        "pull": "1" if opts.on("pull") else None,
        "rm": "1" if opts.on("rm") else "0",
        "forcerm": "1" if opts.on("force-rm") else None,
        "buildargs": json.dumps(_kv(opts.many("build-arg"), True)) if opts.many("build-arg")
        else None,
        "labels": json.dumps(_kv(opts.many("label"), False)) if opts.many("label") else None,
        "target": opts.text("target") or None,
        "check": "1" if opts.on("check") else None,
        "networkmode": opts.text("network") or None,
        "platform": opts.text("platform") or None,
        "cachefrom": json.dumps(opts.many("cache-from")) if opts.many("cache-from") else None,
        "extrahosts": opts.many("add-host") or None,
        "remote": remote,
        "ssh": json.dumps(ssh) if ssh else None,
        "buildcontexts": json.dumps({
            k: v if v.startswith("docker-image://") else "dir" for k, v in named.items()
        }) if named else None,
    }  # fmt: skip
    headers = [("Content-Type", "application/x-tar")]
    if secrets:
        headers.append(("X-Cove-Build-Secrets", buildout.secrets_header(secrets)))
    if size_note and not quiet:
        sys.stdout.write(size_note)
        sys.stdout.flush()
    client = ctx.client
    client.negotiate()
    image_id: list[str] = []
    code = [1]

    def on_aux(aux: Any) -> None:
        if isinstance(aux, dict) and aux.get("ID"):
            image_id.append(str(aux["ID"]))

    def watch(lines: Iterator[bytes]) -> Iterator[bytes]:
        for raw in lines:
            if b'"errorDetail"' in raw:
                try:
                    detail = json.loads(raw).get("errorDetail") or {}
                    code[0] = int(detail.get("code") or 1)
                except (ValueError, AttributeError):
                    pass
            yield raw

    try:
        resp = client.open("POST", "/build", query, raw=_chunks(body), headers=headers)
        try:
            sink = open(os.devnull, "w") if quiet else sys.stdout  # noqa: SIM115
            try:
                display(watch(resp.iter_lines()), sink, on_aux=on_aux)
            finally:
                if quiet:
                    sink.close()
        finally:
            resp.close()
    except StreamError as e:
        raise StatusError(code[0], str(e)) from None
    finally:
        if body is not sys.stdin.buffer:
            body.close()
    if image_id:
        if quiet:
            ctx.out(image_id[-1])
        if opts.text("iidfile"):
            with open(opts.text("iidfile"), "w") as f:
                f.write(image_id[-1])
        if opts.text("metadata-file"):
            buildout.write_metadata(opts.text("metadata-file"), image_id[-1], opts.many("tag"))
        if outputs:
            buildout.write_outputs(client, image_id[-1], outputs)
    return 0


def _size(n: int) -> str:
    """docker's HumanSizeWithPrecision(n, 4): decimal units."""
    units = ["B", "kB", "MB", "GB", "TB"]
    v = float(n)
    i = 0
    while v >= 1000 and i < len(units) - 1:
        v /= 1000
        i += 1
    return f"{v:.4g}{units[i]}"
