"""The image config of ``docker commit``: pure, no disk.

Docker builds it in three steps, and so do we: the caller's config (the ``POST /commit``
body; the container's own config when there is none) gets the ``-c`` changes, then the
fields left empty are filled from the container's config (``merge_config``), and the result
becomes a child of the base image: its layers plus the new one (none for an empty diff),
its history plus one entry whose ``created_by`` is the container's command.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from cove.image.changes import apply_changes
from cove.image.config import goarch, rfc3339_nano
from cove.util.jsontypes import Json


def _key(env: str) -> str:
    return env.partition("=")[0]


def merge_config(user: Json, container: Json) -> Json:
    """Fill what ``user`` leaves empty from ``container`` (Docker's ``merge`` of commit):
    lists and maps are unioned with the user's entries winning."""
    out = copy.deepcopy(user)
    if not out.get("User"):
        out["User"] = container.get("User", "")
    ports = dict(container.get("ExposedPorts") or {})
    ports.update(out.get("ExposedPorts") or {})
    if ports:
        out["ExposedPorts"] = ports
    env = list(out.get("Env") or [])
    have = {_key(e) for e in env}
    env += [e for e in container.get("Env") or [] if _key(e) not in have]
    out["Env"] = env or None
    labels = dict(container.get("Labels") or {})
    labels.update(out.get("Labels") or {})
    out["Labels"] = labels
    if not out.get("Entrypoint"):
        if not out.get("Cmd"):
            out["Cmd"] = container.get("Cmd")
            if "ArgsEscaped" in container:
                out["ArgsEscaped"] = container["ArgsEscaped"]
        if out.get("Entrypoint") is None:
            out["Entrypoint"] = container.get("Entrypoint")
    hc = container.get("Healthcheck")
    if hc is not None:
        mine = out.get("Healthcheck")
        if mine is None:
            out["Healthcheck"] = copy.deepcopy(hc)
        else:
            for k, v in hc.items():
                if not mine.get(k):
                    mine[k] = v
    if not out.get("WorkingDir"):
        out["WorkingDir"] = container.get("WorkingDir", "")
    vols = dict(container.get("Volumes") or {})
    vols.update(out.get("Volumes") or {})
    out["Volumes"] = vols or None
    if not out.get("StopSignal") and container.get("StopSignal"):
        out["StopSignal"] = container["StopSignal"]
    return out


def commit_config(
    base: Json,
    container_config: Json,
    *,
    container_id: str,
    user_config: Json | None,
    changes: Sequence[str],
    diff_id: str | None,
    author: str = "",
    comment: str = "",
    created: str | None = None,
) -> Json:
    """The new image's config.  ``diff_id`` None: the diff was empty (no new layer; the
    history entry is marked ``empty_layer``, as Docker does)."""
    created = created or rfc3339_nano()
    user = (
        copy.deepcopy(user_config) if user_config is not None else copy.deepcopy(container_config)
    )
    config = merge_config(apply_changes(user, list(changes)), container_config)
    entry: Json = {"created": created}
    if author:
        entry["author"] = author
    entry["created_by"] = " ".join(container_config.get("Cmd") or [])
    if comment:
        entry["comment"] = comment
    if diff_id is None:
        entry["empty_layer"] = True
    diff_ids = list((base.get("rootfs") or {}).get("diff_ids") or [])
    if diff_id is not None:
        diff_ids.append(diff_id)
    out: Json = {"architecture": base.get("architecture") or goarch()}
    if base.get("variant"):
        out["variant"] = base["variant"]
    if author:
        out["author"] = author
    if comment:
        out["comment"] = comment
    out.update(
        {
            "config": config,
            "container": container_id,
            "container_config": copy.deepcopy(container_config),
            "created": created,
            "history": [*copy.deepcopy(base.get("history") or []), entry],
            "os": base.get("os") or "linux",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    )
    return out
