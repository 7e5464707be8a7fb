"""ADD's remote sources: an http(s) URL (downloaded, verified against ``--checksum``) and a
git repository (cloned with Debian's ``git``).

Contract: each function returns a temp path under ``tmp`` that the caller removes; on any
failure nothing is left behind.  A download is kept as one file, archives included (BuildKit
extracts only local archives).  A git URL is cloned without prompts, over http(s) or git://
only; ``git@host:...`` and ``ssh://`` need SSH agent forwarding, which cove's builder does
not have, so they are refused with a message that says so.
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass

from cove.build.backend import BuildError

_DIGEST = re.compile(r"^(sha256|sha384|sha512):([0-9a-f]+)$")
_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_GIT_TIMEOUT = 600


def is_url(s: str) -> bool:
    return s.startswith(("http://", "https://"))


@dataclass(frozen=True)
class GitRef:
    url: str  # what git clones
    ref: str  # branch, tag or commit; "" for the remote's HEAD
    subdir: str


def git_ref(src: str) -> GitRef | None:
    """A git source of ADD, as BuildKit recognises one: ``git@...``, ``git://``,
    ``ssh://``, or an http(s) URL whose path ends in ``.git``; ``#ref:subdir`` after it."""
    base, _, frag = src.partition("#")
    if base.startswith(("git@", "ssh://")):
        raise BuildError(
            f"cannot add {src}: a git URL over SSH needs SSH agent forwarding, which cove's "
            "builder does not provide; use an https:// or git:// URL"
        )
    is_git_url = is_url(base) and urllib.parse.urlparse(base).path.endswith(".git")
    if not base.startswith("git://") and not is_git_url:
        return None
    ref, _, subdir = frag.partition(":")
    sub = os.path.normpath("/" + subdir).lstrip("/") if subdir else ""
    return GitRef(base, ref, sub)


def check_digest(value: str) -> str:
    m = _DIGEST.match(value)
    if not m or len(m.group(2)) != _LENGTHS[m.group(1)]:
        raise BuildError(f"invalid checksum digest format: {value!r}")
    return value


def download(url: str, tmp: str, checksum: str = "") -> tuple[str, float]:
    """(temp file, mtime from Last-Modified or 0).  With ``checksum`` the content must
    hash to it, else the build fails with BuildKit's "digest mismatch" words."""
    algo = checksum.partition(":")[0] if checksum else "sha256"
    h = hashlib.new(algo)
    os.makedirs(tmp, exist_ok=True)
    fd, path = tempfile.mkstemp(dir=tmp, prefix="build-url-")
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=60) as r:
            if getattr(r, "status", 200) >= 400:
                raise BuildError(f"failed to GET {url} with status {r.status}")
            while chunk := r.read(1 << 20):
                h.update(chunk)
                f.write(chunk)
            lm = r.headers.get("Last-Modified")
        got = f"{algo}:{h.hexdigest()}"
        if checksum and got != checksum:
            raise BuildError(f"digest mismatch {checksum}: {got}")
        mtime = email.utils.parsedate_to_datetime(lm).timestamp() if lm else 0.0
        return path, mtime
    except OSError as e:
        os.unlink(path)
        raise BuildError(f"failed to GET {url}: {e}") from None
    except BaseException:
        os.unlink(path)
        raise


def _git(args: list[str], cwd: str | None = None) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/nonexistent",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_ALLOW_PROTOCOL": "http:https:git",
        "GIT_SSH_COMMAND": "false",
        "LC_ALL": "C",
    }
    try:
        p = subprocess.run(
            ["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
            timeout=_GIT_TIMEOUT, check=False,
        )  # fmt: skip
    except FileNotFoundError:
        raise BuildError("ADD of a git repository needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"git {args[0]} timed out after {_GIT_TIMEOUT}s") from None
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or ["exit status " + str(p.returncode)])[-1]
        raise BuildError(f"failed to fetch git repository: git {args[0]}: {err}")
    return p.stdout


def git_checkout(ref: GitRef, tmp: str, keep_git_dir: bool, checksum: str = "") -> tuple[str, str]:
    """(temp directory to remove, directory to add: the checkout or its subdir).  A
    ``checksum`` is the commit (its full ID or a prefix), as BuildKit's frontend 1.16."""
    os.makedirs(tmp, exist_ok=True)
    top = tempfile.mkdtemp(dir=tmp, prefix="build-git-")
    work = os.path.join(top, "repo")
    try:
        _git(["clone", "--quiet", "--no-checkout", "--", ref.url, work])
        target = ref.ref or "HEAD"
        if ref.ref:
            # a branch or tag name is looked up on the remote's side first, then as a commit
            for cand in (f"refs/remotes/origin/{ref.ref}", f"refs/tags/{ref.ref}", ref.ref):
                try:
                    target = _git(["rev-parse", "--verify", "--quiet", cand + "^{commit}"], work)
                    break
                except BuildError:
                    continue
            else:
                raise BuildError(f"failed to fetch git repository: no such ref {ref.ref!r}")
        commit = _git(["rev-parse", "--verify", target.strip() + "^{commit}"], work).strip()
        want = checksum.lower()
        if want and (len(want) < 7 or not commit.startswith(want)):
            raise BuildError(f"expected checksum to match {checksum}, got {commit}")
        _git(["-c", "advice.detachedHead=false", "checkout", "--quiet", commit], work)
        if not keep_git_dir:
            shutil.rmtree(os.path.join(work, ".git"))
        path = os.path.join(work, ref.subdir) if ref.subdir else work
        inside = os.path.realpath(path).startswith(os.path.realpath(work))
        if not inside or not os.path.isdir(path) or os.path.islink(path):
            raise BuildError(f"subdirectory {ref.subdir!r} not found in {ref.url}")
        return top, path
    except BaseException:
        shutil.rmtree(top, ignore_errors=True)
        raise
