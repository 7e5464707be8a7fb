"""Sources for COPY/ADD (the context, another image) and ``--chown`` name lookups."""

from __future__ import annotations

import fnmatch
import os
import posixpath

from cove.build.context import BuildContext
from cove.build.files import Owner
from cove.build.rootfs import RootfsView
from cove.errors import InvalidArgument, NotFound

_WILD = "*?["


class ContextSource:
    def __init__(self, ctx: BuildContext) -> None:
        self.ctx = ctx

    def glob(self, pattern: str) -> list[str]:
        found = self.ctx.glob(pattern)
        if len(found) == 1 and not any(c in pattern for c in _WILD):
            rel = found[0]
            if self.ctx.excluded(rel) or not os.path.lexists(self.ctx.resolve(rel, follow=False)):
                return []
        return found

    def stat(self, rel: str) -> tuple[str, os.stat_result]:
        host = self.ctx.resolve(rel, follow=True)
        try:
            return host, os.lstat(host)
        except FileNotFoundError:
            raise NotFound(rel) from None

    def walk(self, rel: str) -> list[tuple[str, str, os.stat_result]]:
        base = posixpath.normpath(rel).lstrip("/")
        base = "" if base == "." else base
        out = []
        for r, host, st in self.ctx.walk(rel):
            sub = r[len(base) + 1 :] if base else r
            out.append((sub, host, st))
        return out


class ImageSource:
    """``COPY --from``: the root filesystem of a stage or an image."""

    def __init__(self, view: RootfsView) -> None:
        self.view = view

    def glob(self, pattern: str) -> list[str]:
        clean = posixpath.normpath("/" + pattern)
        if not any(c in clean for c in _WILD):
            return [clean] if self.view.lookup(clean) is not None else []
        parts = [p for p in clean.split("/") if p]
        out: list[str] = []

        def walk(prefix: str, i: int) -> None:
            if i == len(parts):
                out.append(prefix or "/")
                return
            part = parts[i]
            if not any(c in part for c in _WILD):
                nxt = posixpath.join(prefix or "/", part)
                if self.view.lookup(nxt) is not None:
                    walk(nxt, i + 1)
                return
            for name in self.view.listdir(prefix or "/"):
                if fnmatch.fnmatchcase(name, part):
                    walk(posixpath.join(prefix or "/", name), i + 1)

        walk("", 0)
        return out

    def stat(self, rel: str) -> tuple[str, os.stat_result]:
        hit = self.view.lookup(rel)
        if hit is None:
            raise NotFound(rel)
        return hit

    def walk(self, rel: str) -> list[tuple[str, str, os.stat_result]]:
        return list(self.view.walk(rel))


def _table(text: str | None) -> list[list[str]]:
    return [ln.split(":") for ln in (text or "").splitlines() if ln and not ln.startswith("#")]


def resolve_owner(spec: str | None, view: RootfsView) -> Owner:
    """``--chown=user[:group]`` with names looked up in the image's /etc/passwd and
    /etc/group (numbers taken as they are); a missing group means the user's name/ID."""
    if not spec:
        return Owner()
    user, _, group = spec.partition(":")
    passwd = _table(_text(view, "/etc/passwd"))
    groups = _table(_text(view, "/etc/group"))
    uid, primary = _lookup_user(user, passwd)
    if not group:
        if user.isdigit():
            return Owner(uid, uid, True)
        g = _lookup_group(user, groups)
        return Owner(uid, g if g is not None else primary, True)
    if group.isdigit():
        return Owner(uid, int(group), True)
    g = _lookup_group(group, groups)
    if g is None:
        raise InvalidArgument(
            f"unable to convert uid/gid chown string to host mapping: can't find gid for "
            f"group {group}: no such group: {group}"
        )
    return Owner(uid, g, True)


def _text(view: RootfsView, path: str) -> str | None:
    data = view.read(path)
    return data.decode("utf-8", "replace") if data is not None else None


def _lookup_user(user: str, passwd: list[list[str]]) -> tuple[int, int]:
    if user.isdigit():
        uid = int(user)
        for row in passwd:
            if len(row) > 3 and row[2] == user:
                return uid, int(row[3]) if row[3].isdigit() else uid
        return uid, uid
    for row in passwd:
        if len(row) > 3 and row[0] == user and row[2].isdigit() and row[3].isdigit():
            return int(row[2]), int(row[3])
    raise InvalidArgument(
        f"unable to convert uid/gid chown string to host mapping: can't find uid for user "
        f"{user}: no such user: {user}"
    )


def _lookup_group(group: str, groups: list[list[str]]) -> int | None:
    for row in groups:
        if len(row) > 2 and row[0] == group and row[2].isdigit():
            return int(row[2])
    return None
