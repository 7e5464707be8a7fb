"""What ``POST /build`` takes beyond dockerd's classic query: cove's own extensions.

The docker CLI's classic builder has no way to send secrets, SSH agents or named contexts
(BuildKit carries them over its own session); the cove CLI sends them here:

- header ``X-Cove-Build-Secrets``: base64 of a JSON object ``{id: base64(value)}``; kept in
  memory, never in a file of the daemon except the private one a RUN mounts;
- query ``ssh``: JSON ``{id: agent socket path}`` (the client runs on this host);
- query ``buildcontexts``: JSON ``{name: "docker-image://ref" | "dir"}``; the files of a
  ``dir`` context travel in the context tar under ``.cove-build-contexts/<name>/`` and
  are taken out of the main context before the build sees it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import tempfile

from cove.api.http import Request
from cove.build.context import BuildContext
from cove.errors import InvalidArgument

SECRETS_HEADER = "x-cove-build-secrets"
NAMED_DIR = ".cove-build-contexts"
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.:/@-]*$")
_MAX_SECRETS = 48 * 1024


def _json_obj(raw: str | None, what: str) -> dict[str, str]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as e:  # nested past the parser: input too
        raise InvalidArgument(f"invalid {what} parameter: {e}") from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidArgument(f"invalid {what} parameter: expected an object of strings")
    return {str(k): v for k, v in value.items()}


def secrets(req: Request) -> dict[str, bytes]:
    raw = req.headers.get(SECRETS_HEADER, "")
    if not raw:
        return {}
    if len(raw) > _MAX_SECRETS:
        raise InvalidArgument("build secrets are too large (48 KiB in all at most)")
    try:
        obj = _json_obj(base64.b64decode(raw, validate=True).decode(), "secrets")
        return {k: base64.b64decode(v, validate=True) for k, v in obj.items()}
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidArgument("invalid secrets parameter: bad base64") from None


def ssh(req: Request) -> dict[str, str]:
    out = _json_obj(req.arg("ssh"), "ssh")
    for k, path in out.items():
        if not os.path.isabs(path) or not os.path.exists(path):
            raise InvalidArgument(
                f"invalid ssh parameter: agent socket {path!r} of {k!r} not found"
            )
    return out


def named_contexts(req: Request) -> dict[str, str]:
    out = _json_obj(req.arg("buildcontexts"), "buildcontexts")
    for k, v in out.items():
        if not _NAME.match(k):
            raise InvalidArgument(f"invalid build context name {k!r}")
        if v != "dir" and not v.startswith("docker-image://"):
            raise InvalidArgument(
                f"invalid build context {k}={v}: cove takes a directory or docker-image://REF"
            )
    return {k.lower(): v for k, v in out.items()}


def split_named(
    ctx: BuildContext, wanted: dict[str, str], tmp: str
) -> dict[str, BuildContext | str]:
    """Take the named directory contexts out of the unpacked main context (blocking)."""
    out: dict[str, BuildContext | str] = {}
    holder = os.path.join(ctx.root, NAMED_DIR)
    if os.path.islink(holder):  # only a directory the client sent counts, never a way out
        os.unlink(holder)
    try:
        for name, value in wanted.items():
            if value != "dir":
                out[name] = value.removeprefix("docker-image://")
                continue
            src = os.path.join(holder, name.replace("/", "_"))
            dst = tempfile.mkdtemp(prefix="build-named-", dir=tmp)
            if os.path.isdir(src) and not os.path.islink(src):
                os.rmdir(dst)
                os.rename(src, dst)
            out[name] = BuildContext(dst, owned=True)
    except BaseException:
        for v in out.values():
            if isinstance(v, BuildContext):
                v.close()
        raise
    finally:
        if os.path.lexists(holder):
            shutil.rmtree(holder, ignore_errors=True)
    return out
