"""A remote build context (``POST /build?remote=URL``, ``cove build URL``), as dockerd takes
one: a git repository (``git://``, ``git@``, or an http(s) URL ending in ``.git``; with
``#ref:subdir``), or an http(s) URL whose body is a tar (plain or compressed) or else the
Dockerfile itself.

Blocking (clone, download, unpack): call from a thread.  What is fetched lands in a temp
directory under ``tmp`` that the returned context owns; on failure nothing is left.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from cove.build.backend import BuildError
from cove.build.context import BuildContext
from cove.build.remote import download, git_checkout, git_ref, is_url


def is_git(url: str) -> bool:
    if url.startswith(("git@", "git://", "ssh://")):
        return True
    try:
        return git_ref(url) is not None
    except BuildError:
        return True


def open_remote(url: str, tmp: str, dockerfile: str) -> BuildContext:
    os.makedirs(tmp, exist_ok=True)
    if url.startswith("github.com/"):
        url = "https://" + url  # dockerd's shorthand
    if is_git(url):
        ref = git_ref(url)
        if ref is None:
            raise BuildError(f"unable to prepare context: unsupported git URL {url}")
        top, path = git_checkout(ref, tmp, keep_git_dir=False)
        try:
            root = tempfile.mkdtemp(prefix="build-ctx-", dir=tmp)
            os.rmdir(root)
            os.rename(path, root)  # the checkout (or its subdir) becomes the context
        finally:
            shutil.rmtree(top, ignore_errors=True)
        return BuildContext(root, owned=True, dockerfile=dockerfile)
    if not is_url(url):
        raise BuildError(f"unable to prepare context: unable to load remote context {url!r}")
    path, _ = download(url, tmp)
    try:
        with open(path, "rb") as f:
            return BuildContext.from_tar(f, tmp, dockerfile)
    finally:
        os.unlink(path)
