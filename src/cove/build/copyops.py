"""COPY, ADD and WORKDIR: layers written directly from the context (no container).

ADD adds two things to COPY: a URL is downloaded (its Last-Modified header becomes the
file's mtime, mode 0600), and a local tar archive (plain, gzip, bzip2, xz) is extracted at
the destination instead of copied.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import posixpath
import tempfile
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

from cove.build.backend import BuildError
from cove.build.context import BuildContext
from cove.build.core import BuildBase
from cove.build.dockerfile import instructions
from cove.build.dockerfile.parser import Node
from cove.build.dockerfile.shell import expand
from cove.build.files import Owner, Planner, Source, dest_path, parse_chmod
from cove.build.layer import is_archive, write_layer
from cove.build.rootfs import RootfsView, layer_dirs
from cove.build.sources import ContextSource, ImageSource, resolve_owner
from cove.build.state import Stage
from cove.errors import NotFound
from cove.oci.digest import chain_ids

Json = dict[str, Any]


def _is_url(s: str) -> bool:
    return s.startswith(("http://", "https://"))


class CopyOps(BuildBase):
    def view_of(self, diff_ids: list[str]) -> RootfsView:
        chain = chain_ids(diff_ids)
        top = chain[-1][7:] if chain else None
        return RootfsView(layer_dirs(self.backend.snapshotter, top))

    async def _from_source(self, ref: str) -> Source:
        named = self.named.get(ref.lower())  # --build-context: a directory or an image
        if isinstance(named, BuildContext):
            return ContextSource(named)
        ref = named or ref
        st = self.stage_for(ref)
        if st is not None:
            return ImageSource(self.view_of(st.diff_ids))
        try:
            img = self.backend.images.resolve(ref)
        except NotFound:
            img = await self.find_base(ref)
        return ImageSource(self.view_of(img.diff_ids))

    async def find_base(self, ref: str) -> Any:  # overridden by the builder (FROM's lookup)
        return self.backend.images.resolve(ref)

    async def do_copy(self, stage: Stage, node: Node) -> AsyncIterator[Json]:
        cmd = node.cmd.upper()
        flags = instructions.parse_flags(node)
        env = stage.env()
        words = [expand(a, env, self.escape) for a in node.args]
        for f in ("chown", "chmod", "from"):
            if f in flags:
                flags[f] = expand(flags[f], env, self.escape)
        if cmd == "ADD" and "from" in flags:
            raise BuildError("Unknown flag: from")
        view = self.view_of(stage.diff_ids)
        owner = resolve_owner(flags.get("chown"), view)
        chmod = parse_chmod(flags["chmod"]) if flags.get("chmod") else None
        planner = Planner(view, owner, chmod, cmd)
        dest = dest_path(words[-1], str(stage.run.get("WorkingDir") or "/"))
        srcs = words[:-1]
        temps: list[str] = []
        try:
            docs = {h.name: h for h in node.heredocs}
            plain: list[str] = []
            for s in srcs:
                name = s[2:].lstrip("-").strip("'\"") if s.startswith("<<") else None
                if name is not None and name in docs:
                    h = docs[name]
                    content = h.text()
                    if h.expand:
                        content = expand(content, env, self.escape, quotes=False)
                    planner.add_bytes(dest, name, content.encode(), 0o644, 0.0)
                elif cmd == "ADD" and _is_url(s):
                    path, mtime = await asyncio.to_thread(self._download, s)
                    temps.append(path)
                    base = posixpath.basename(urllib.parse.urlparse(s).path)
                    if dest.endswith("/") and not base:
                        raise BuildError("cannot determine filename from url: " + s)
                    st = os.stat(path)
                    target = planner.file_target(dest, base or "download")
                    planner.parents(target)
                    planner.add(target, path, st)
                    planner.plan.entries[-1].mode = 0o600 if chmod is None else chmod
                    planner.plan.entries[-1].mtime = mtime
                else:
                    plain.append(s)
            if plain:
                src: Source = (
                    await self._from_source(flags["from"]) if flags.get("from")
                    else ContextSource(self.context)
                )  # fmt: skip
                if cmd == "ADD":
                    self._add_local(planner, src, plain, dest)
                else:
                    planner.copy_sources(src, plain, dest)
            plan = planner.plan
            checksum = await asyncio.to_thread(plan.checksum)
            last_dir = bool(plan.entries) and plan.entries[-1].kind == "dir"
            kind = "multi" if len(srcs) > 1 else ("dir" if last_dir else "file")
            created_by = f"/bin/sh -c #(nop) {cmd} {kind}:{checksum[7:]} in {dest} "
            extra = json.dumps(sorted(flags.items()))
            key, hit = self.probe(stage, created_by, extra)
            if hit is not None:
                for m in self.use_cached(stage, hit):
                    yield m
                return
            for m in await self.commit_plan(stage, key, created_by, planner):
                yield m
        finally:
            for t in temps:
                os.unlink(t)

    async def commit_plan(
        self, stage: Stage, key: str, created_by: str, planner: Planner
    ) -> list[Json]:
        tmp = self.backend.paths.tmp
        path = await asyncio.to_thread(write_layer, planner.plan, tmp)
        try:
            with open(path, "rb") as f:
                diff_id = await asyncio.to_thread(self.backend.images.add_layer, f, stage.diff_ids)
        finally:
            os.unlink(path)
        return await self.commit(stage, key, created_by, diff_id)

    def _add_local(self, planner: Planner, src: Source, patterns: list[str], dest: str) -> None:
        matches: list[str] = []
        for p in patterns:
            found = src.glob(p)
            if not found and not any(c in p for c in "*?["):
                raise NotFound(planner._missing(p))
            matches += found
        if not matches:
            raise BuildError("ADD failed: no source files were specified")
        if len(matches) > 1 and not dest.endswith("/"):
            raise BuildError(
                "When using ADD with more than one source file, the destination must be a "
                "directory and end with a /"
            )
        for rel in matches:
            host, st = src.stat(rel)
            if os.path.isfile(host) and is_archive(host):
                ddir = planner.existing.resolve(dest.rstrip("/") or "/")
                planner.parents(ddir + "/x")
                planner.dir(ddir, None)
                planner.plan.archives.append((host, ddir))
            else:
                planner.one(src, rel, host, st, dest)

    def _download(self, url: str) -> tuple[str, float]:
        tmp = self.backend.paths.tmp
        os.makedirs(tmp, exist_ok=True)
        fd, path = tempfile.mkstemp(dir=tmp, prefix="build-url-")
        try:
            with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=60) as r:
                if getattr(r, "status", 200) >= 400:
                    raise BuildError(f"failed to GET {url} with status {r.status}")
                while chunk := r.read(1 << 20):
                    f.write(chunk)
                lm = r.headers.get("Last-Modified")
            mtime = 0.0
            if lm:
                parsed = email.utils.parsedate_to_datetime(lm)
                mtime = parsed.timestamp()
            return path, mtime
        except OSError as e:
            os.unlink(path)
            raise BuildError(f"failed to GET {url}: {e}") from None
        except BaseException:
            os.unlink(path)
            raise

    async def do_workdir(self, stage: Stage, node: Node) -> AsyncIterator[Json]:
        path = expand(node.args[0], stage.env(), self.escape)
        cur = str(stage.run.get("WorkingDir") or "/")
        path = posixpath.normpath(posixpath.join(cur, path))
        stage.run["WorkingDir"] = path
        view = self.view_of(stage.diff_ids)
        created_by = "/bin/sh -c #(nop) WORKDIR " + path
        hit_dir = view.lookup(path)
        key, hit = self.probe(stage, created_by, json.dumps(stage.run, sort_keys=True))
        if hit is not None:
            for m in self.use_cached(stage, hit):
                yield m
            return
        if hit_dir is not None or path == "/":
            for m in await self.commit(stage, key, created_by, None):
                yield m
            return
        planner = Planner(view, Owner(), None, "WORKDIR")
        planner.parents(path + "/x")
        for m in await self.commit_plan(stage, key, created_by, planner):
            yield m
