"""The ``POST /containers/create`` body for ``run``/``create``, shaped as docker 28 sends it.

Field order and zero values follow docker's own request so a daemon that accepts docker's
CLI accepts ours.  ``Spec`` also carries what the verbs need besides the body (name,
platform, pull policy, cidfile).  Flag values docker rejects raise ValueError.
"""

from __future__ import annotations

from cove.cli import runparse as rp
from cove.cli.secopts import security_opts
from cove.cli.units import parse_go_duration, ram_in_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options


class Spec:
    def __init__(self, body: dict[str, Any], opts: Options) -> None:
        self.body = body
        self.name = opts.text("name")
        self.platform = opts.text("platform")
        self.pull = opts.text("pull") or "missing"
        self.quiet = opts.on("quiet")
        self.cidfile = opts.text("cidfile")
        self.image = str(body["Image"])
        self.tty = bool(body["Tty"])
        self.auto_remove = bool(body["HostConfig"]["AutoRemove"])


def _bytes(text: str) -> int:
    if not text:
        return 0
    return -1 if text == "-1" else ram_in_bytes(text)


def _healthcheck(opts: Options) -> dict[str, Any] | None:
    hc: dict[str, Any] = {}
    if opts.on("no-healthcheck"):
        if opts.text("health-cmd") or opts.given("health-interval"):
            raise ValueError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if opts.text("health-cmd"):
        hc["Test"] = ["CMD-SHELL", opts.text("health-cmd")]
    for flag, key in (("health-interval", "Interval"), ("health-timeout", "Timeout"),
                      ("health-start-period", "StartPeriod")):  # fmt: skip
        if opts.text(flag):
            hc[key] = parse_go_duration(opts.text(flag))
    if opts.number("health-retries"):
        hc["Retries"] = opts.number("health-retries")
    return hc or None


def _ports(opts: Options) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in opts.many("publish"):
        for port, ip, host in rp.parse_publish(spec):
            exposed[port] = {}
            bindings.setdefault(port, []).append({"HostIp": ip, "HostPort": host})
    for spec in opts.many("expose"):
        for port in rp.parse_expose(spec):
            exposed[port] = {}
    return exposed, bindings


def _endpoint(aliases: list[str] | None, ipv4: str, ipv6: str, mac: str) -> dict[str, Any]:
    ipam = {"IPv4Address": ipv4, "IPv6Address": ipv6} if ipv4 or ipv6 else None
    return {
        "IPAMConfig": ipam, "Links": None, "Aliases": aliases, "MacAddress": mac,
        "DriverOpts": None, "GwPriority": 0, "NetworkID": "", "EndpointID": "", "Gateway": "",
        "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0, "DNSNames": None,
    }  # fmt: skip


def _check_modes(opts: Options) -> None:
    """The namespace modes the docker CLI checks itself, with its words."""
    pid = opts.text("pid")
    if pid not in ("", "host") and not (pid.startswith("container:") and pid[10:]):
        raise ValueError("--pid: invalid PID mode")
    if opts.text("uts") not in ("", "host"):
        raise ValueError("--uts: invalid UTS mode")
    if opts.text("userns") not in ("", "host"):
        raise ValueError("--userns: invalid USER mode")
    if opts.text("cgroupns") not in ("", "host", "private"):
        raise ValueError("--cgroupns: invalid CGROUP mode")


def build(
    opts: Options, image: str, cmd: list[str], *, detach: bool, console: tuple[int, int] = (0, 0)
) -> Spec:
    attach = [a.lower() for a in opts.many("attach")]
    for a in attach:
        if a not in ("stdin", "stdout", "stderr"):
            raise ValueError(f"invalid argument {a!r}: valid streams are STDIN, STDOUT, STDERR")
    interactive = opts.on("interactive")
    attach_stdin = "stdin" in attach or interactive
    attach_out = "stdout" in attach or not attach
    attach_err = "stderr" in attach or not attach
    stdin_once = attach_stdin and interactive
    if detach:
        attach_stdin = attach_out = attach_err = stdin_once = False
    restart = opts.text("restart") or "no"
    if opts.on("rm") and restart not in ("", "no"):
        raise ValueError("conflicting options: cannot specify both --restart and --rm")
    network = opts.text("network") or opts.text("net") or "default"
    aliases = opts.many("network-alias") + opts.many("net-alias")
    if (aliases and network in ("default", "bridge", "host", "none")) or (
        aliases and network.startswith("container:")
    ):
        raise ValueError("network-scoped aliases are only supported for user-defined networks")
    exposed, bindings = _ports(opts)
    env = rp.env_list(opts.many("env-file"), opts.many("env"))
    volumes: dict[str, dict[str, str]] = {v: {} for v in opts.many("volume") if ":" not in v}
    binds = [rp.absolute_bind(v) for v in opts.many("volume") if ":" in v] or None
    entrypoint: list[str] | None = None
    if opts.text("entrypoint"):
        entrypoint = [opts.text("entrypoint")]
    elif opts.given("entrypoint"):
        entrypoint = [""]
    config: dict[str, Any] = {
        "Hostname": opts.text("hostname"), "Domainname": opts.text("domainname"),
        "User": opts.text("user"), "AttachStdin": attach_stdin, "AttachStdout": attach_out,
        "AttachStderr": attach_err,
    }  # fmt: skip
    if exposed:
        config["ExposedPorts"] = exposed
    config.update(
        Tty=opts.on("tty"), OpenStdin=interactive, StdinOnce=stdin_once, Env=env or None,
        Cmd=cmd or None,
    )  # fmt: skip
    health = _healthcheck(opts)
    if health is not None:
        config["Healthcheck"] = health
    config.update(
        Image=image, Volumes=volumes, WorkingDir=opts.text("workdir"), Entrypoint=entrypoint,
        OnBuild=None, Labels=rp.label_map(opts.many("label-file"), opts.many("label")),
    )  # fmt: skip
    if opts.text("stop-signal"):
        config["StopSignal"] = opts.text("stop-signal")
    if opts.given("stop-timeout"):
        config["StopTimeout"] = opts.number("stop-timeout")
    _check_modes(opts)
    log_opts = rp.kv_map(opts.many("log-opt"))
    if opts.text("log-driver") == "none" and opts.many("log-opt"):
        raise ValueError("invalid logging opts for driver none")  # the docker CLI's own check
    security_opt, unconfined_paths = security_opts(opts.many("security-opt"))
    host: dict[str, Any] = {
        "Binds": binds, "ContainerIDFile": opts.text("cidfile"),
        "LogConfig": {"Type": opts.text("log-driver"), "Config": log_opts},
        "NetworkMode": network, "PortBindings": bindings,
        "RestartPolicy": rp.restart_policy(restart), "AutoRemove": opts.on("rm"),
        "VolumeDriver": opts.text("volume-driver"),
        "VolumesFrom": opts.many("volumes-from") or None,
        "ConsoleSize": list(console), "CapAdd": rp.capabilities(opts.many("cap-add")),
        "CapDrop": rp.capabilities(opts.many("cap-drop")), "CgroupnsMode": opts.text("cgroupns"),
        "Dns": opts.many("dns"), "DnsOptions": opts.many("dns-option"),
        "DnsSearch": opts.many("dns-search"), "ExtraHosts": opts.many("add-host") or None,
        "GroupAdd": opts.many("group-add") or None, "IpcMode": opts.text("ipc"), "Cgroup": "",
        "Links": opts.many("link") or None, "OomScoreAdj": opts.number("oom-score-adj"),
        "PidMode": opts.text("pid"), "Privileged": opts.on("privileged"),
        "PublishAllPorts": opts.on("publish-all"), "ReadonlyRootfs": opts.on("read-only"),
        "SecurityOpt": security_opt or None,
    }  # fmt: skip
    if opts.many("storage-opt"):
        host["StorageOpt"] = rp.kv_map(opts.many("storage-opt"))
    if opts.many("tmpfs"):
        host["Tmpfs"] = {t.partition(":")[0]: t.partition(":")[2] for t in opts.many("tmpfs")}
    host.update(
        UTSMode=opts.text("uts"), UsernsMode=opts.text("userns"),
        ShmSize=_bytes(opts.text("shm-size")),
    )  # fmt: skip
    if opts.many("sysctl"):
        host["Sysctls"] = rp.kv_map(opts.many("sysctl"))
    if opts.text("runtime"):
        host["Runtime"] = opts.text("runtime")
    cpus = opts.text("cpus")
    host.update({
        "Isolation": "", "CpuShares": opts.number("cpu-shares"),
        "Memory": _bytes(opts.text("memory")),
        "NanoCpus": round(float(cpus) * 1e9) if cpus else 0,
        "CgroupParent": opts.text("cgroup-parent"), "BlkioWeight": 0, "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [], "CpuPeriod": opts.number("cpu-period"),
        "CpuQuota": opts.number("cpu-quota"), "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
        "CpusetCpus": opts.text("cpuset-cpus"), "CpusetMems": opts.text("cpuset-mems"),
        "Devices": [rp.parse_device(d) for d in opts.many("device")],
        "DeviceCgroupRules": opts.many("device-cgroup-rule") or None,
        "DeviceRequests": None, "MemoryReservation": _bytes(opts.text("memory-reservation")),
        "MemorySwap": _bytes(opts.text("memory-swap")),
        "MemorySwappiness": opts.number("memory-swappiness"),
        "OomKillDisable": opts.on("oom-kill-disable"), "PidsLimit": opts.number("pids-limit"),
        "Ulimits": [rp.parse_ulimit(u) for u in opts.many("ulimit")], "CpuCount": 0,
        "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
    })  # fmt: skip
    if opts.many("mount"):
        host["Mounts"] = [rp.parse_mount(m) for m in opts.many("mount")]
    # systempaths=unconfined: empty lists, as the docker CLI sends them
    unmasked: list[str] | None = [] if unconfined_paths else None
    host.update(MaskedPaths=unmasked, ReadonlyPaths=unmasked)
    if opts.on("init"):
        host["Init"] = True
    endpoints: dict[str, Any] = {}
    if network not in ("none", "host") and not network.startswith("container:"):
        endpoints[network] = _endpoint(
            aliases or None, opts.text("ip"), opts.text("ip6"), opts.text("mac-address")
        )
    body = {**config, "HostConfig": host, "NetworkingConfig": {"EndpointsConfig": endpoints}}
    return Spec(body, opts)
