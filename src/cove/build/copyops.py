"""COPY, ADD and WORKDIR: layers written directly from the context (no container).

ADD adds to COPY: a URL is downloaded (its Last-Modified header becomes the file's mtime,
mode 0600; an archive stays one file; ``--checksum`` verified), a git URL is cloned
(``--keep-git-dir``), and a local tar archive (plain, gzip, bzip2, xz) is extracted at the
destination instead of copied.  Heredoc sources become files (mode 0644); ``--chmod``,
``--exclude``, ``--parents`` and ``--link`` are in ``copyflags.py``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import posixpath
import shutil
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

from cove.build.backend import BuildError
from cove.build.cache import step_key
from cove.build.context import BuildContext
from cove.build.copyflags import CopyFlags, copy_flags, parse_chmod
from cove.build.core import BuildBase, msg, short
from cove.build.dockerfile import instructions
from cove.build.dockerfile.heredoc import opener
from cove.build.dockerfile.parser import Node
from cove.build.dockerfile.shell import expand
from cove.build.files import Owner, Planner, Source, dest_path
from cove.build.layer import is_archive, write_layer
from cove.build.remote import check_digest, download, git_checkout, git_ref, is_url
from cove.build.rootfs import RootfsView, layer_dirs
from cove.build.sources import ContextSource, ImageSource, resolve_owner
from cove.build.state import Stage
from cove.errors import NotFound
from cove.oci.digest import chain_ids
from cove.util.dockerignore import Matcher
from cove.util.jsontypes import Json


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        os.unlink(path)


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
        cf = copy_flags(node)
        env = stage.env()
        x = functools.partial(expand, env=env, escape=self.escape)
        cf.chown, cf.chmod, cf.source = x(cf.chown), x(cf.chmod), x(cf.source)
        cf.excludes = [x(e) for e in cf.excludes]
        if cmd == "ADD" and cf.source:
            raise BuildError("Unknown flag: from")
        # --link: the layer is planned on an empty root, so nothing below it shapes it
        view = RootfsView([]) if cf.link else self.view_of(stage.diff_ids)
        owner = resolve_owner(cf.chown, self.view_of(stage.diff_ids))
        chmod = parse_chmod(cf.chmod) if cf.chmod else None
        planner = Planner(view, owner, chmod, cmd, cf.matcher())
        dest = dest_path(x(node.args[-1]), str(stage.run.get("WorkingDir") or "/"))
        if cf.parents:
            dest = dest.rstrip("/") + "/"
        srcs = node.args[:-1]
        temps: list[str] = []
        try:
            docs = {h.name: h for h in node.heredocs}
            plain: list[str] = []
            for raw in srcs:
                op = opener(raw)
                if op is not None and op.name in docs:
                    h = docs[op.name]
                    content = h.text()
                    if h.expand:
                        content = expand(content, env, self.escape, quotes=False)
                    planner.add_bytes(dest, op.name, content.encode(), 0o644, 0.0)
                    continue
                s = x(raw)
                if cmd == "ADD" and (remote := await self._add_remote(planner, s, dest, cf)):
                    temps.append(remote)
                elif cf.checksum and cmd == "ADD":
                    raise BuildError("checksum can't be specified for non-HTTP(S) sources")
                else:
                    plain.append(s)
            if plain:
                src: Source = (
                    await self._from_source(cf.source) if cf.source
                    else ContextSource(self.context)
                )  # fmt: skip
                if cf.parents:
                    planner.copy_parents(src, plain, dest)
                elif cmd == "ADD":
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
            if cf.link:
                async for m in self.commit_linked(stage, key, created_by, extra, planner):
                    yield m
                return
            for m in await self.commit_plan(stage, key, created_by, planner):
                yield m
        finally:
            for t in temps:
                await asyncio.to_thread(_remove, t)

    async def _add_remote(self, planner: Planner, s: str, dest: str, cf: CopyFlags) -> str:
        """Plan an ADD source that is a git repository or a URL; returns the temp path to
        remove afterwards, "" when ``s`` is neither."""
        tmp = self.backend.paths.tmp
        git = git_ref(s)
        if git is not None:
            top, path = await asyncio.to_thread(
                git_checkout, git, tmp, cf.keep_git_dir, cf.checksum
            )
            repo = BuildContext(path)
            repo.matcher = Matcher([])  # a repository's .dockerignore is not ours to apply
            st = os.stat(path)
            await asyncio.to_thread(planner.copy_tree, ContextSource(repo), ".", dest, st)
            return top
        if not is_url(s):
            return ""
        checksum = check_digest(cf.checksum) if cf.checksum else ""
        path, mtime = await asyncio.to_thread(download, s, tmp, checksum)
        base = posixpath.basename(urllib.parse.urlparse(s).path)
        if dest.endswith("/") and not base:
            os.unlink(path)
            raise BuildError("cannot determine filename from url: " + s)
        st = os.stat(path)
        target = planner.file_target(dest, base or "download")
        planner.parents(target)
        planner.add(target, path, st)
        chmod = planner.chmod
        planner.plan.entries[-1].mode = 0o600 if chmod is None else chmod.apply(0o600)
        planner.plan.entries[-1].mtime = mtime
        return path

    async def commit_linked(
        self, stage: Stage, key: str, created_by: str, extra: str, planner: Planner
    ) -> AsyncIterator[Json]:
        """COPY --link: the layer's own cache key leaves the parent out, so after a base
        change the layer made before is put on the new base as it is (same digest, its tar
        not written again); only the new snapshot is unpacked."""
        link_key = step_key("link", created_by, extra)
        layer = None if self.opts.nocache else self.cache.get(link_key)
        blobs = getattr(self.backend.images, "blobs", None)
        if layer and blobs is not None and blobs.has(layer):
            with blobs.open(layer) as f:
                diff_id = await asyncio.to_thread(
                    self.backend.images.add_layer, f, stage.diff_ids, layer
                )
            yield msg(f" ---> Using linked layer {short(diff_id)}\n")
            for m in await self.commit(stage, key, created_by, diff_id):
                yield m
            return
        for m in await self.commit_plan(stage, key, created_by, planner):
            yield m
        self.cache.put(link_key, stage.diff_ids[-1])

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
            matches += [m for m in found if not planner.excluded(m)]
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
