"""From a container record to its OCI bundle: the facts ``oci.spec.build_config`` needs.

Reads of the container's own files (/etc/passwd) go through ``_inside`` so a symlink in the
image cannot make the daemon read or create files outside the root filesystem.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cove.engine.containers import userns
from cove.engine.containers.cgroupread import unified
from cove.engine.containers.etcfiles import write_etc_files
from cove.engine.containers.resources import oci_resources, ulimit_tuples, with_init
from cove.engine.containers.security import spec_fields
from cove.engine.fs.mounts import for_spec as oci_mounts
from cove.engine.record import Container
from cove.engine.state import Status
from cove.errors import Conflict, InvalidArgument
from cove.oci.spec import ContainerSpec, build_config, build_exec_process
from cove.oci.user import resolve_user
from cove.runtime.seccomp_bpf import ANNOTATION as BPF_ANNOTATION
from cove.runtime.seccomp_bpf import bpf_annotation
from cove.util.fs import atomic_write
from cove.util.jsontypes import Json

if TYPE_CHECKING:
    from cove.engine.base import EngineBase


def _inside(rootfs: str, path: str) -> str | None:
    """The host path of ``path`` in ``rootfs``, None if resolving it leaves the root."""
    real_root = os.path.realpath(rootfs)
    p = os.path.realpath(os.path.join(real_root, path.lstrip("/")))
    if p != real_root and not p.startswith(real_root + os.sep):
        return None
    return p


def _read_inside(rootfs: str, path: str) -> str | None:
    p = _inside(rootfs, path)
    if p is None:
        return None
    try:
        with open(p, errors="replace") as f:
            return f.read(1 << 20)
    except OSError:
        return None


def _bind(src: str, dest: str, ro: bool = False) -> Json:
    return {
        "destination": dest,
        "type": "bind",
        "source": src,
        "options": ["rbind", "rprivate", "ro" if ro else "rw"],
    }


# dockerd 20.10's words when the container to join is not running, per namespace
_NOT_RUNNING = {
    "net": "cannot join network of a non running container: {id}",
    "pid": "container {id} is not running",
    "ipc": "can't join IPC of container {id}: container {id} is not running",
}


def _namespace_of(eng: EngineBase, mode: str, kind: str) -> str:
    """``container:<name>`` becomes the path of that running container's namespace."""
    ref = mode.split(":", 1)[1]
    other = eng.find(ref)
    if other.status != Status.RUNNING or not other.state.get("Pid"):
        raise Conflict(_NOT_RUNNING[kind].format(id=other.id))
    if kind == "ipc" and other.host_config.get("IpcMode") != "shareable":
        # dockerd (default-ipc-mode private) lends its IPC only to a donor that agreed
        raise Conflict(
            f"can't join IPC of container {other.id}: non-shareable IPC "
            "(hint: use IpcMode:shareable for the donor container)"
        )
    return f"/proc/{other.state['Pid']}/ns/{kind}"


def cgroupns_mode(hc: Mapping[str, Any]) -> str:
    """``CgroupnsMode`` checked, with dockerd's default where it is empty: a private
    cgroup namespace on a cgroup2-only host, the host's on v1 (and hybrid) layouts."""
    mode = str(hc.get("CgroupnsMode") or "")
    if mode not in ("", "host", "private"):
        raise InvalidArgument(f"invalid cgroup namespace mode: {mode}")  # dockerd's 400
    return mode or ("private" if unified() else "host")


def _check_ipc(mode: str) -> None:
    if mode not in ("", "host", "none", "private", "shareable") and not (
        mode.startswith("container:") and mode[10:]
    ):
        raise InvalidArgument(f"Invalid IPC mode: {mode}")  # dockerd's words


def check_modes(hc: dict[str, Any]) -> None:
    """At create: namespace modes that would fail the start are refused at once (dockerd
    refuses an unknown IPC mode only at start), and the cgroup namespace mode is named."""
    _check_ipc(str(hc.get("IpcMode") or ""))
    hc["CgroupnsMode"] = cgroupns_mode(hc)


def _etc_owner(eng: EngineBase, c: Container) -> Container:
    """Whose /etc/hosts, /etc/resolv.conf, /etc/hostname and host name a container gets:
    with ``--network container:X`` those of X (they describe the network it shares), as
    dockerd gives them; its own otherwise."""
    mode = str(c.host_config.get("NetworkMode") or "")
    return eng.find(mode.split(":", 1)[1]) if mode.startswith("container:") else c


def _with_links(link_env: list[str], env: list[str]) -> list[str]:
    """``--link`` variables first; the container's own of the same name win."""
    own = {e.partition("=")[0] for e in env}
    return [e for e in link_env if e.partition("=")[0] not in own] + env


def _console_size(v: Any) -> tuple[int, int] | None:
    """``HostConfig.ConsoleSize`` [height, width]: the TTY has its size from the start."""
    if isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and x > 0 for x in v):
        return (v[0], v[1])
    return None


def container_spec(eng: EngineBase, c: Container, rootfs: str) -> ContainerSpec:
    cfg, hc = c.config, c.host_config
    passwd = _read_inside(rootfs, "/etc/passwd")
    group = _read_inside(rootfs, "/etc/group")
    uid, gid, gids, home = resolve_user(
        cfg.get("User") or "", passwd, group, hc.get("GroupAdd") or ()
    )
    net_mode = str(hc.get("NetworkMode") or "default")
    network = "host" if net_mode == "host" else "private"
    if net_mode.startswith("container:"):
        network = _namespace_of(eng, net_mode, "net")
    ipc = str(hc.get("IpcMode") or "private")
    if ipc.startswith("container:"):
        ipc = _namespace_of(eng, ipc, "ipc")
    else:
        _check_ipc(ipc)
    pid = str(hc.get("PidMode") or "private")
    if pid.startswith("container:"):
        pid = _namespace_of(eng, pid, "pid")
    elif pid != "host":
        pid = "private"
    uts = "host" if hc.get("UTSMode") == "host" or net_mode == "host" else "private"
    cgroup = cgroupns_mode(hc)
    etc = _etc_owner(eng, c)
    mounts = [
        _bind(os.path.join(etc.dir, "resolv.conf"), "/etc/resolv.conf"),
        _bind(os.path.join(etc.dir, "hostname"), "/etc/hostname"),
        _bind(os.path.join(etc.dir, "hosts"), "/etc/hosts"),
        *oci_mounts(c, eng.volume_service.volume_mount),
    ]
    args = with_init(hc, [c.data["Path"], *c.data["Args"]], mounts)
    return ContainerSpec(
        rootfs=rootfs,
        args=args,
        env=_with_links(eng.net.net_link_env(c), list(cfg.get("Env") or [])),
        cwd=cfg.get("WorkingDir") or "/",
        uid=uid,
        gid=gid,
        additional_gids=gids,
        home=home,
        tty=bool(cfg.get("Tty")),
        console_size=_console_size(hc.get("ConsoleSize")),
        hostname=str(etc.config.get("Hostname") or etc.id[:12]),
        domainname=str(etc.config.get("Domainname") or ""),
        mounts=mounts,
        network=network,
        ipc=ipc,
        pid=pid,
        uts=uts,
        cgroup=cgroup,
        readonly_rootfs=bool(hc.get("ReadonlyRootfs")),
        privileged=bool(hc.get("Privileged")),
        cap_add=list(hc.get("CapAdd") or []),
        cap_drop=list(hc.get("CapDrop") or []),
        host_caps=eng.host.bounding_caps or None,
        host_rlimits=eng.host.rlimits or None,
        cgroups_path=f"/cove/{c.id}",
        shm_size=int(hc.get("ShmSize") or 64 * 1024 * 1024),
        oom_score_adj=int(hc.get("OomScoreAdj") or 0),
        resources=oci_resources(hc),
        ulimits=ulimit_tuples(hc),
        **spec_fields(
            hc,
            eng.host.bounding_caps or None,
            eng.options.seccomp_profile,
            eng.options.no_new_privileges,
        ),
    )


def prepare_bundle(eng: EngineBase, c: Container, rootfs: str, bundle: str) -> None:
    """Write /etc files and ``bundle/config.json``; create a missing working directory."""
    cfg, hc = c.config, c.host_config
    host_net = hc.get("NetworkMode") == "host"
    write_etc_files(
        c.dir,
        str(cfg.get("Hostname") or c.id[:12]),
        list(hc.get("ExtraHosts") or []) + eng.net.net_hosts_entries(c),
        # user-defined networks resolve through the embedded server, which forwards the rest
        ["127.0.0.11"] if eng.net.net_embedded_dns(c) else list(hc.get("Dns") or eng.options.dns),
        list(hc.get("DnsSearch") or eng.options.dns_search),
        list(
            hc.get("DnsOptions")
            or (["ndots:0"] if eng.net.net_embedded_dns(c) else eng.options.dns_opts)
        ),
        host_net,
    )
    idmap = userns.for_container(hc, eng.options.userns)
    if idmap is not None:
        userns.open_to(idmap, c.dir)
        userns.own(idmap, *(os.path.join(c.dir, f) for f in ("resolv.conf", "hostname", "hosts")))
    wd = cfg.get("WorkingDir")
    if wd:
        p = _inside(rootfs, wd)
        if p is None:
            raise InvalidArgument(f"working directory {wd} leaves the container's root")
        if not os.path.isdir(p):
            os.makedirs(p, exist_ok=True)
            if idmap is not None:
                userns.own(idmap, p)
    spec = container_spec(eng, c, rootfs)
    config = build_config(spec)
    if idmap is not None:
        userns.apply(config, idmap, hc.get("Sysctls") or {})
    _precompiled_seccomp(eng, hc, config)
    os.makedirs(bundle, mode=0o700, exist_ok=True)
    atomic_write(
        os.path.join(bundle, "config.json"),
        json.dumps(config).encode(),
        mode=0o600,
        sync=False,
    )


def _precompiled_seccomp(eng: EngineBase, hc: Json, config: Json) -> None:
    """crun gets the filter compiled once by coved instead of compiling it at every start
    (runtime/seccomp_bpf.py); runc, which has no such annotation, compiles it itself."""
    runtime = str(hc.get("Runtime") or eng.runtime.name)
    section = config["linux"].get("seccomp")
    if section and os.path.basename(eng.runtime.paths.get(runtime, "")) == "crun":
        program = bpf_annotation(section)
        if program is not None:
            config.setdefault("annotations", {})[BPF_ANNOTATION] = program


def exec_process(eng: EngineBase, c: Container, body: Json) -> Json:
    rootfs = eng.paths.rootfs(c.id)
    spec = container_spec(eng, c, rootfs)
    user = None
    if body.get("User"):
        uid, gid, gids, _home = resolve_user(
            body["User"], _read_inside(rootfs, "/etc/passwd"), _read_inside(rootfs, "/etc/group")
        )
        user = (uid, gid, gids)
    return build_exec_process(
        spec,
        list(body.get("Cmd") or []),
        env=list(body.get("Env") or []),
        cwd=body.get("WorkingDir") or None,
        user=user,
        tty=bool(body.get("Tty")),
        privileged=bool(body.get("Privileged")),
    )
