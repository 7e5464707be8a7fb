"""``cove build``'s BuildKit-style options: secrets, SSH agents, named contexts, outputs and
the metadata file.

Secrets and agents go to coved in cove's own request fields (the classic builder API that
the docker CLI speaks has none); outputs are written here, on the client's side, from the
built image's filesystem (a container created for the export and removed right after).
"""

from __future__ import annotations

import base64
import json
import os

from cove.cli.command import StatusError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.client.api import Client


def _fields(spec: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in spec.split(","):
        k, eq, v = part.partition("=")
        if not eq:
            raise StatusError(1, f"invalid value {spec!r}: {part!r} is not key=value")
        out[k.strip().lower()] = v
    return out


def parse_secret(spec: str) -> tuple[str, bytes]:
    """``id=x,src=file`` | ``id=x,env=VAR`` | ``id=x`` (from the env var x or no file)."""
    f = _fields(spec)
    sid = f.get("id", "")
    src = f.get("src") or f.get("source") or ""
    env = f.get("env", "")
    kind = f.get("type", "")
    if kind not in ("", "file", "env"):
        raise StatusError(1, f"unsupported secret type {kind!r}")
    if not sid:
        sid = os.path.basename(src) if src else env
    if not sid:
        raise StatusError(1, f"invalid secret {spec!r}: id is required")
    if kind == "env" and not env:
        env = src or sid
    if not src and not env:
        env = sid if sid in os.environ else ""
        src = "" if env else sid
    if env and kind != "file":
        value = os.environ.get(env)
        if value is None:
            raise StatusError(1, f"secret {sid}: environment variable {env} is not set")
        return sid, value.encode()
    try:
        with open(os.path.expanduser(src), "rb") as fh:
            return sid, fh.read()
    except OSError as e:
        raise StatusError(1, f"failed to read secret {sid} from {src}: {e.strerror}") from None


def parse_ssh(spec: str) -> tuple[str, str]:
    """``default`` (``$SSH_AUTH_SOCK``) or ``id=/path/to/agent.sock``."""
    sid, eq, path = spec.partition("=")
    if not eq:
        path = os.environ.get("SSH_AUTH_SOCK", "")
        if not path:
            raise StatusError(1, f"--ssh {sid}: SSH_AUTH_SOCK is not set (no agent to forward)")
    path = path.split(",")[0]
    if not os.path.exists(path):
        raise StatusError(1, f"--ssh {sid}: no agent socket at {path}")
    return sid, os.path.abspath(path)


def parse_output(spec: str) -> tuple[str, str]:
    """(type, dest) of ``-o``: ``type=local,dest=DIR``, ``type=tar,dest=FILE`` or ``DIR``
    (``-`` alone: a tar on stdout)."""
    if "=" not in spec:
        return ("tar", "-") if spec == "-" else ("local", spec)
    f = _fields(spec)
    kind = f.get("type", "local")
    dest = f.get("dest", "")
    if kind not in ("local", "tar"):
        raise StatusError(1, f"output type {kind!r} is not supported by cove (local, tar)")
    if not dest:
        raise StatusError(1, f"output {kind} needs dest=")
    return kind, dest


def parse_context(spec: str) -> tuple[str, str]:
    """``name=DIR`` or ``name=docker-image://REF``."""
    name, eq, value = spec.partition("=")
    if not eq or not name or not value:
        raise StatusError(1, f"invalid build context {spec!r}: expected name=value")
    if value.startswith("docker-image://"):
        return name, value
    if "://" in value:
        raise StatusError(1, f"build context {name}: cove takes a directory or docker-image://")
    if not os.path.isdir(value):
        raise StatusError(1, f'build context {name}: path "{value}" not found')
    return name, value


def secrets_header(secrets: dict[str, bytes]) -> str:
    obj = {k: base64.b64encode(v).decode() for k, v in secrets.items()}
    return base64.b64encode(json.dumps(obj).encode()).decode()


def ignore_file(root: str, dockerfile: str | None) -> str:
    """``<Dockerfile>.dockerignore`` beside the Dockerfile wins over ``.dockerignore``."""
    df = os.path.abspath(dockerfile) if dockerfile else os.path.join(root, "Dockerfile")
    own = df + ".dockerignore"
    return own if os.path.isfile(own) else os.path.join(root, ".dockerignore")


def write_metadata(path: str, image_id: str, tags: list[str]) -> None:
    data = {
        "containerimage.config.digest": image_id,
        "containerimage.digest": image_id,  # no manifest: the image is local
    }
    if tags:
        data["image.name"] = ",".join(tags)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def write_outputs(client: Client, image_id: str, outputs: list[tuple[str, str]]) -> None:
    """Each ``-o`` of the build: the image's filesystem as a tar or a directory."""
    import tempfile

    from cove.cli.tarout import stream_tar

    made = client.post("/containers/create", None, {"Image": image_id, "Cmd": ["/"]})
    cid = str(made["Id"])
    try:
        for kind, dest in outputs:
            path = f"/containers/{cid}/export"
            if kind == "tar":
                stream_tar(client, path, None, "" if dest == "-" else dest)
                continue
            with tempfile.TemporaryDirectory(prefix="cove-output-") as tmp:
                tar = os.path.join(tmp, "fs.tar")
                stream_tar(client, path, None, tar)
                extract(tar, dest)
    finally:
        client.delete(f"/containers/{cid}", {"force": "1"})


def extract(tar: str, dest: str) -> None:
    """Unpack a filesystem tar into ``dest``, never writing outside it (through ``..``,
    an absolute name, or a symlink it made earlier)."""
    import tarfile

    os.makedirs(dest, exist_ok=True)
    top = os.path.realpath(dest)

    def inside(p: str) -> bool:
        return p == top or p.startswith(top + os.sep)

    with tarfile.open(tar) as tf:
        for m in tf:
            name = os.path.normpath(m.name.lstrip("/"))
            if name == "." or name.startswith(".."):
                continue
            if not inside(os.path.realpath(os.path.join(top, os.path.dirname(name)))):
                raise StatusError(1, f"output: {m.name} would be written outside {dest}")
            if m.islnk() and not inside(os.path.realpath(os.path.join(top, m.linkname))):
                raise StatusError(1, f"output: {m.name} links outside {dest}")
            m.name = name
            if m.islnk():
                m.linkname = os.path.normpath(m.linkname.lstrip("/"))
            target = os.path.join(top, name)
            if os.path.lexists(target) and not os.path.isdir(target):
                os.unlink(target)
            tf.extract(m, top, set_attrs=True, numeric_owner=True)
