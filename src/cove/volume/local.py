"""The ``local`` volume driver: one directory per volume under ``<data-root>/volumes``.

Layout (as dockerd's): ``<root>/<name>/_data`` holds the data and is the volume's
Mountpoint; ``<root>/<name>/opts.json`` its creation time, labels and driver options.  A
volume appears by renaming a complete temp directory into place, so a crash never leaves
a volume without its metadata.  ``-o type=... -o device=... -o o=...`` make the volume a
mount of its own, done when its first container starts and undone after its last.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import threading

from cove.errors import Conflict, InvalidArgument, NotFound, SystemError_
from cove.snapshot.mount import mounts_under
from cove.util.fs import atomic_write_json, read_json
from cove.util.timefmt import rfc3339
from cove.volume import sysmount
from cove.volume.base import Volume

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_VALID_OPTS = ("type", "device", "o", "size")
META = "opts.json"


def check_name(name: str) -> str:
    if len(name) == 1:
        raise InvalidArgument(
            f"create {name}: volume name is too short, names should be at least two "
            "alphanumeric characters"
        )
    if not _NAME.match(name):
        raise InvalidArgument(
            f'create {name}: "{name}" includes invalid characters for a local volume name, '
            'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
            "directory, use absolute path"
        )
    return name


def check_options(name: str, opts: dict[str, str]) -> None:
    for key in opts:
        if key not in _VALID_OPTS:
            raise InvalidArgument(f'create {name}: invalid option: "{key}"')
    if "size" in opts:
        raise InvalidArgument(f"create {name}: quota size requested but no quota support")
    if opts.get("type") and not opts.get("device"):
        raise InvalidArgument(f'create {name}: missing required option: "device"')
    if opts.get("device") and not opts.get("type"):
        raise InvalidArgument(f'create {name}: missing required option: "type"')


def _mounted(path: str) -> bool:
    """From the mount table: ``os.path.ismount`` misses a bind mount within one filesystem."""
    return bool(mounts_under(path))


class LocalVolumeDriver:
    name = "local"

    def __init__(self, root: str) -> None:
        self.root = root
        os.makedirs(root, mode=0o701, exist_ok=True)
        self._refs: dict[str, set[str]] = {}
        self._lock = threading.Lock()  # create/remove may run in worker threads
        self.owner: tuple[int, int] | None = None  # of new volumes' data (userns-remap)
        self._cleanup()

    def _cleanup(self) -> None:
        """Temp directories of creates interrupted by a crash."""
        for entry in os.listdir(self.root):
            if entry.startswith(".tmp-"):
                shutil.rmtree(os.path.join(self.root, entry), ignore_errors=True)

    def _dir(self, name: str) -> str:
        return os.path.join(self.root, name)

    def _load(self, name: str) -> Volume:
        d = self._dir(name)
        try:
            meta = read_json(os.path.join(d, META))
        except (OSError, ValueError):
            raise NotFound(f"get {name}: no such volume") from None
        return Volume(
            name=name,
            driver=self.name,
            mountpoint=os.path.join(d, "_data"),
            created_at=str(meta.get("CreatedAt") or ""),
            labels=dict(meta.get("Labels") or {}),
            options=dict(meta.get("Options") or {}),
        )

    # --- the Protocol ---------------------------------------------------------------------
    def create(self, name: str, options: dict[str, str], labels: dict[str, str]) -> Volume:
        check_name(name)
        check_options(name, options)
        with self._lock:
            if os.path.isdir(self._dir(name)):
                return self._load(name)
            tmp = tempfile.mkdtemp(dir=self.root, prefix=".tmp-")
            try:
                os.chmod(tmp, 0o701)
                os.mkdir(os.path.join(tmp, "_data"), 0o755)
                if self.owner is not None:  # userns-remap: the container's root owns it
                    os.chown(os.path.join(tmp, "_data"), *self.owner)
                meta = {"CreatedAt": rfc3339(), "Labels": labels, "Options": options}
                atomic_write_json(os.path.join(tmp, META), meta, mode=0o600)
                os.rename(tmp, self._dir(name))
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return self._load(name)

    def get(self, name: str) -> Volume:
        if not _NAME.match(name):
            raise NotFound(f"get {name}: no such volume")
        return self._load(name)

    def list(self) -> list[Volume]:
        out = []
        for entry in sorted(os.listdir(self.root)):
            if entry.startswith("."):
                continue
            with contextlib.suppress(NotFound):
                out.append(self._load(entry))
        return out

    def remove(self, name: str) -> None:
        v = self.get(name)
        with self._lock:
            self._refs.pop(name, None)
            data = v.mountpoint
            for _ in range(8):
                if not _mounted(data):
                    break
                try:
                    sysmount.unmount(data)
                except OSError as e:
                    raise SystemError_(f"remove {name}: unmount {data}: {e.strerror}") from e
            if _mounted(self._dir(name)):
                # never delete through a mount: it could be a bind of the user's own files
                raise Conflict(f"remove {name}: volume is still mounted")
            gone = os.path.join(self.root, f".tmp-rm-{name}")
            os.rename(self._dir(name), gone)
            shutil.rmtree(gone, ignore_errors=True)

    def mount(self, name: str, ref: str) -> str:
        v = self.get(name)
        with self._lock:
            refs = self._refs.setdefault(name, set())
            typ = v.options.get("type")
            if typ and not refs and not _mounted(v.mountpoint):
                device = v.options.get("device", "")
                flags, data = sysmount.parse_options(v.options.get("o", ""))
                try:
                    sysmount.mount(device, v.mountpoint, typ, flags, data)
                except OSError as e:
                    raise SystemError_(
                        f"error while mounting volume '{v.mountpoint}': failed to mount local "
                        f"volume: mount {device}:{v.mountpoint}, flags: {flags:#x}, data: "
                        f"{data}: {(e.strerror or str(e)).lower()}"
                    ) from e
            refs.add(ref)
        return v.mountpoint

    def unmount(self, name: str, ref: str) -> None:
        with self._lock:
            refs = self._refs.get(name)
            if refs is None:
                # users unknown (the daemon restarted while they ran): leave it mounted
                # rather than pull it from under them; ``remove`` unmounts it
                return
            refs.discard(ref)
            if refs:
                return
            del self._refs[name]
        try:
            v = self._load(name)
        except NotFound:
            return
        if v.options.get("type") and _mounted(v.mountpoint):
            try:
                sysmount.unmount(v.mountpoint)
            except OSError as e:
                raise SystemError_(f"unmount volume {name}: {e.strerror}") from e

    def size(self, name: str) -> int:
        total = 0
        for base, _dirs, files in os.walk(self.get(name).mountpoint):
            for f in files:
                with contextlib.suppress(OSError):
                    st = os.lstat(os.path.join(base, f))
                    if stat.S_ISREG(st.st_mode):
                        total += st.st_size
        return total
