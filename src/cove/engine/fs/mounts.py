"""Mount points of a container: ``-v``, ``--mount``, ``--tmpfs``, ``--volumes-from`` and the
image's VOLUMEs, parsed and checked the way dockerd does, as plain data.

A mount point is a dict kept in the container record (``_cove.MountPoints``)::

    {"Type": "bind"|"volume"|"tmpfs", "Name", "Source", "Destination", "Driver", "Mode",
     "RW", "Propagation", "CopyData", "Anonymous", "Options" (tmpfs data), "Public"}

``plan`` builds the list at create time (volumes are named but not yet created: the engine
creates them and fills in ``Source``); ``public`` is inspect's ``Mounts``; ``oci`` turns the
list into runtime mounts at start.  Errors use dockerd's words.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from typing import Any

from cove.engine.record import Container
from cove.errors import InvalidArgument
from cove.util.jsontypes import Json

MountPoint = dict[str, Any]

_PROPAGATION = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
_LABEL = ("z", "Z")
_CONSISTENCY = ("consistent", "cached", "delegated")
_TMPFS_DEFAULTS = ["noexec", "nosuid", "nodev"]


def _spec_error(raw: str, why: str = "") -> InvalidArgument:
    msg = f"invalid volume specification: '{raw}'"
    return InvalidArgument(f"{msg}: {why}" if why else msg)


def _config_error(typ: str, why: str) -> InvalidArgument:
    return InvalidArgument(f'invalid mount config for type "{typ}": {why}')


def _check_target(target: str, typ: str) -> str:
    if not target:
        raise _config_error(typ, "field Target must not be empty")
    if not target.startswith("/"):
        raise _config_error(typ, f"invalid mount path: '{target}' mount path must be absolute")
    clean = posixpath.normpath(target)
    if clean == "/":
        raise InvalidArgument("invalid specification: destination can't be '/'")
    return clean


def valid_mode(mode: str) -> bool:
    """dockerd's linuxValidMountMode: at most one of each kind, nothing unknown."""
    if not mode:
        return True
    seen: dict[str, int] = {}
    for part in mode.split(","):
        if part in ("ro", "rw"):
            kind = "rw"
        elif part in _LABEL:
            kind = "label"
        elif part in _PROPAGATION:
            kind = "propagation"
        elif part == "nocopy":
            kind = "copy"
        elif part in _CONSISTENCY:
            kind = "consistency"
        else:
            return False
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] > 1:
            return False
    return True


def _point(typ: str, dest: str, **kw: Any) -> MountPoint:
    mp: MountPoint = {
        "Type": typ,
        "Name": "",
        "Source": "",
        "Destination": dest,
        "Driver": "",
        "Mode": "",
        "RW": True,
        "Propagation": "",
        "CopyData": False,
        "Anonymous": False,
        "Options": "",
        "Public": True,
    }
    mp.update(kw)
    return mp


def parse_bind(raw: str) -> MountPoint:
    """One ``HostConfig.Binds`` entry: ``[src:]dst[:mode]``; a relative ``src`` names a
    volume, none at all makes an anonymous one."""
    parts = raw.split(":")
    if not parts[0] or len(parts) > 3:
        raise _spec_error(raw)
    mode = ""
    if len(parts) == 1:
        src, dst = "", parts[0]
    elif len(parts) == 2:
        if valid_mode(parts[1]) and not parts[1].startswith("/"):
            raise _spec_error(raw)  # "/foo:rw": a volume cannot have a mode without a name
        src, dst = parts
    else:
        src, dst, mode = parts
    if not valid_mode(mode):
        raise InvalidArgument(f"invalid mode: {mode}")
    opts = mode.split(",") if mode else []
    typ = "bind" if src.startswith("/") else "volume"
    try:
        dest = _check_target(dst, typ)
    except InvalidArgument as e:
        raise _spec_error(raw, e.message) from None
    prop = next((o for o in opts if o in _PROPAGATION), "")
    if typ == "bind":
        if "nocopy" in opts:
            raise _spec_error(raw, _config_error("bind", "field VolumeOptions must not be "
                              "specified").message)  # fmt: skip
        return _point("bind", dest, Source=posixpath.normpath(src), Mode=mode,
                      RW="ro" not in opts, Propagation=prop or "rprivate",
                      Create=True)  # fmt: skip
    return _point(
        "volume",
        dest,
        Name=src,
        Driver="local",
        Mode=mode or "z",
        RW="ro" not in opts,
        Propagation=prop,
        CopyData="nocopy" not in opts,
        Anonymous=not src,
    )


def parse_mount(m: Json, exists: Callable[[str], bool]) -> MountPoint:
    """One ``HostConfig.Mounts`` object (``--mount``)."""
    if not isinstance(m, dict):
        raise InvalidArgument("invalid mount config: expected an object")
    typ = str(m.get("Type") or "")
    src, ro = str(m.get("Source") or ""), bool(m.get("ReadOnly"))
    if typ not in ("bind", "volume", "tmpfs"):
        raise InvalidArgument(f'invalid mount config for type "{typ}": mount type unknown')
    dest = _check_target(str(m.get("Target") or ""), typ)
    for key, owner in (("BindOptions", "bind"), ("VolumeOptions", "volume"),
                       ("TmpfsOptions", "tmpfs")):  # fmt: skip
        if m.get(key) and typ != owner:
            raise _config_error(typ, f"field {key} must not be specified")
    if typ == "bind":
        if not src:
            raise _config_error("bind", "field Source must not be empty")
        if not src.startswith("/"):
            raise _config_error("bind", f"invalid mount path: '{src}' mount path must be absolute")
        if not exists(src):
            raise _config_error("bind", f"bind source path does not exist: {src}")
        prop = str((m.get("BindOptions") or {}).get("Propagation") or "rprivate")
        if prop not in _PROPAGATION:
            raise _config_error("bind", f"invalid propagation mode: {prop}")
        return _point("bind", dest, Source=posixpath.normpath(src), RW=not ro, Propagation=prop)
    if typ == "tmpfs":
        if src:
            raise _config_error("tmpfs", "field Source must not be specified")
        t = m.get("TmpfsOptions") or {}
        data = list(_TMPFS_DEFAULTS)
        if t.get("SizeBytes"):
            data.append(f"size={int(t['SizeBytes']) // 1024}k")
        if t.get("Mode"):
            data.append(f"mode={int(t['Mode']):o}")
        if ro:
            data.append("ro")
        return _point("tmpfs", dest, RW=not ro, Options=",".join(data))
    vo = m.get("VolumeOptions") or {}
    given = (vo.get("DriverConfig") or {}).get("Name")
    driver = str(given or "local")
    subpath = str(vo.get("Subpath") or "")
    if subpath and (subpath.startswith("/") or ".." in subpath.split("/")):
        raise _config_error("volume", "subpath must be a relative path within the volume")
    if not src and ro:
        raise _config_error("volume", "must not set ReadOnly mode when using anonymous volumes")
    return _point(
        "volume",
        dest,
        Name=src,
        Driver=driver,
        Mode="z",
        RW=not ro,
        CopyData=not vo.get("NoCopy"),
        Anonymous=not src,
        VolumeOptions=dict((vo.get("DriverConfig") or {}).get("Options") or {}),
        VolumeLabels=dict(vo.get("Labels") or {}),
        DriverGiven=bool(given),
        Subpath=subpath,
    )


def parse_tmpfs(dest: str, data: str) -> MountPoint:
    """``HostConfig.Tmpfs`` entry (``--tmpfs /run:size=64m``); not shown in ``Mounts``."""
    clean = _check_target(dest, "tmpfs")
    opts = [*_TMPFS_DEFAULTS, *(o for o in (data or "").split(",") if o)]
    return _point("tmpfs", clean, Options=",".join(opts), RW="ro" not in opts, Public=False)


def parse_volumes_from(raw: str) -> tuple[str, str]:
    """``ctr[:ro|:rw]`` -> (container, mode)."""
    if not raw:
        raise InvalidArgument("volumes-from specification cannot be an empty string")
    ref, _, mode = raw.partition(":")
    if mode and (mode not in ("ro", "rw") and not valid_mode(mode)):
        raise InvalidArgument(f"invalid mode: {mode}")
    return ref, mode


def plan(
    hc: Json,
    image_volumes: dict[str, Any] | None,
    volumes_from: Callable[[str], list[MountPoint]],
    exists: Callable[[str], bool],
) -> list[MountPoint]:
    """Every mount point of a new container, in dockerd's precedence: ``--volumes-from``
    first, replaced by ``-v``/``--mount`` at the same destination (those two may not
    collide), then ``--tmpfs``, then the image's VOLUMEs where nothing else is mounted."""
    by_dest: dict[str, MountPoint] = {}
    for raw in hc.get("VolumesFrom") or []:
        ref, mode = parse_volumes_from(str(raw))
        for mp in volumes_from(ref):
            if mp.get("Type") == "tmpfs":
                continue
            cp = dict(mp)
            cp.update(Mode="", CopyData=False, Public=True)
            if mode:
                cp["RW"] = bool(mp.get("RW")) and "ro" not in mode.split(",")
            by_dest[cp["Destination"]] = cp
    explicit: set[str] = set()
    points = [parse_bind(str(b)) for b in hc.get("Binds") or []]
    points += [parse_mount(m, exists) for m in hc.get("Mounts") or []]
    for mp in points:
        if mp["Destination"] in explicit:
            raise InvalidArgument(f"Duplicate mount point: {mp['Destination']}")
        explicit.add(mp["Destination"])
        by_dest[mp["Destination"]] = mp
    tmpfs = hc.get("Tmpfs") or {}
    if not isinstance(tmpfs, dict):
        raise InvalidArgument("invalid HostConfig.Tmpfs: expected an object")
    for dest, data in tmpfs.items():
        mp = parse_tmpfs(str(dest), str(data or ""))
        if mp["Destination"] in explicit:
            raise InvalidArgument(f"Duplicate mount point: {mp['Destination']}")
        explicit.add(mp["Destination"])
        by_dest[mp["Destination"]] = mp
    for dest in image_volumes or {}:
        clean = _check_target(str(dest), "volume")
        if clean not in by_dest:
            by_dest[clean] = _point("volume", clean, Driver="local", CopyData=True,
                                    Anonymous=True)  # fmt: skip
    return list(by_dest.values())


def public(points: list[MountPoint]) -> list[Json]:
    """inspect's ``Mounts`` (and ``ps``'s): dockerd's MountPoint objects."""
    out: list[Json] = []
    for mp in points:
        if not mp.get("Public", True):
            continue
        entry: Json = {"Type": mp["Type"]}
        if mp["Type"] == "volume":
            entry["Name"] = mp["Name"]
        entry.update(Source=mp["Source"], Destination=mp["Destination"])
        if mp["Type"] == "volume":
            entry["Driver"] = mp["Driver"]
        entry.update(Mode=mp["Mode"], RW=bool(mp["RW"]), Propagation=mp["Propagation"])
        out.append(entry)
    return out


def oci(points: list[MountPoint], volume_path: Callable[[str], str]) -> list[Json]:
    """Runtime mounts; ``volume_path(name)`` mounts a volume (when its driver needs to)
    and returns its host directory."""
    out: list[Json] = []
    for mp in points:
        dest = mp["Destination"]
        if mp["Type"] == "tmpfs":
            opts = [o for o in str(mp.get("Options") or "").split(",") if o]
            out.append({"destination": dest, "type": "tmpfs", "source": "tmpfs",
                        "options": ["rprivate", *opts]})  # fmt: skip
            continue
        src = mp["Source"]
        if mp["Type"] == "volume":
            src = volume_path(mp["Name"])
            if mp.get("Subpath"):
                src = _inside_volume(src, str(mp["Subpath"]))
        options = ["rbind", mp.get("Propagation") or "rprivate", "rw" if mp["RW"] else "ro"]
        out.append({"destination": dest, "type": "bind", "source": src, "options": options})
    return out


def points_of(c: Container) -> list[MountPoint]:
    points = c.mount_points
    if points is None:  # a record written before cove kept mount points
        points = [parse_bind(str(b)) for b in c.host_config.get("Binds") or []]
    return points


def for_spec(c: Container, volume_mount: Callable[[str, str], str]) -> list[Json]:
    """The runtime mounts of ``c`` for its bundle.  A missing ``-v`` bind source is created
    as dockerd does (``--mount`` refused it at create); ``volume_mount(name, cid)`` mounts a
    volume and gives its directory (the volume operations' ``volume_mount``)."""
    points = points_of(c)
    for mp in points:
        if mp["Type"] == "bind" and mp.get("Create") and not os.path.lexists(mp["Source"]):
            os.makedirs(mp["Source"], mode=0o755, exist_ok=True)
    return oci(points, lambda name: volume_mount(name, c.id))


def _inside_volume(data: str, subpath: str) -> str:
    """``VolumeOptions.Subpath``: a directory inside the volume, symlinks resolved within it
    (a link planted in the volume cannot point the mount at the host)."""
    from cove.engine.fs.archive_paths import RootView

    fd = os.open(data, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        view = RootView(fd, [])
        comps = view.resolve("/" + subpath)
        if not view.exists(comps):
            raise InvalidArgument(
                f"cannot access path {os.path.join(data, subpath)}: no such file or directory"
            )
    finally:
        os.close(fd)
    return os.path.join(data, *comps)
