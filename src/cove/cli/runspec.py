"""The ``POST /containers/create`` body for ``run``/``create``, shaped as docker 28 sends it.

Field order and zero values follow docker's own request so a daemon that accepts docker's
CLI accepts ours.  ``Spec`` also carries what the verbs need besides the body (name,
platform, pull policy, cidfile).  Flag values docker rejects raise ValueError.
"""

from __future__ import annotations

from cove.cli import runparse as rp
from cove.cli.units import parse_go_duration, ram_in_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options


class Spec:
    def __init__(self, body: dict[str, Any], opts: Options) -> None:
        self.body = body
        self.name = opts.str("name")
        self.platform = opts.str("platform")
        self.pull = opts.str("pull") or "missing"
        self.quiet = opts.on("quiet")
        self.cidfile = opts.str("cidfile")
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
        if opts.str("health-cmd") or opts.given("health-interval"):
            raise ValueError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if opts.str("health-cmd"):
        hc["Test"] = ["CMD-SHELL", opts.str("health-cmd")]
    for flag, key in (("health-interval", "Interval"), ("health-timeout", "Timeout"),
                      ("health-start-period", "StartPeriod")):  # fmt: skip
        if opts.str(flag):
            hc[key] = parse_go_duration(opts.str(flag))
    if opts.int("health-retries"):
        hc["Retries"] = opts.int("health-retries")
    return hc or None


def _ports(opts: Options) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in opts.list("publish"):
        for port, ip, host in rp.parse_publish(spec):
            exposed[port] = {}
            bindings.setdefault(port, []).append({"HostIp": ip, "HostPort": host})
    for spec in opts.list("expose"):
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


def build(
    opts: Options, image: str, cmd: list[str], *, detach: bool, console: tuple[int, int] = (0, 0)
) -> Spec:
    attach = [a.lower() for a in opts.list("attach")]
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
    restart = opts.str("restart") or "no"
    if opts.on("rm") and restart not in ("", "no"):
        raise ValueError("conflicting options: cannot specify both --restart and --rm")
    network = opts.str("network") or opts.str("net") or "default"
    aliases = opts.list("network-alias") + opts.list("net-alias")
    if aliases and network in ("default", "bridge", "host", "none") or (
        aliases and network.startswith("container:")
    ):
        raise ValueError("network-scoped aliases are only supported for user-defined networks")
    exposed, bindings = _ports(opts)
    env = rp.env_list(opts.list("env-file"), opts.list("env"))
    volumes = {v: {} for v in opts.list("volume") if ":" not in v}
    binds = [v for v in opts.list("volume") if ":" in v] or None
    entrypoint: list[str] | None = None
    if opts.str("entrypoint"):
        entrypoint = [opts.str("entrypoint")]
    elif opts.given("entrypoint"):
        entrypoint = [""]
    config: dict[str, Any] = {
        "Hostname": opts.str("hostname"), "Domainname": opts.str("domainname"),
        "User": opts.str("user"), "AttachStdin": attach_stdin, "AttachStdout": attach_out,
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
        Image=image, Volumes=volumes, WorkingDir=opts.str("workdir"), Entrypoint=entrypoint,
        OnBuild=None, Labels=rp.label_map(opts.list("label-file"), opts.list("label")),
    )  # fmt: skip
    if opts.str("stop-signal"):
        config["StopSignal"] = opts.str("stop-signal")
    if opts.given("stop-timeout"):
        config["StopTimeout"] = opts.int("stop-timeout")
    log_opts = rp.kv_map(opts.list("log-opt"))
    host: dict[str, Any] = {
        "Binds": binds, "ContainerIDFile": opts.str("cidfile"),
        "LogConfig": {"Type": opts.str("log-driver"), "Config": log_opts},
        "NetworkMode": network, "PortBindings": bindings,
        "RestartPolicy": rp.restart_policy(restart), "AutoRemove": opts.on("rm"),
        "VolumeDriver": opts.str("volume-driver"), "VolumesFrom": opts.list("volumes-from") or None,
        "ConsoleSize": list(console), "CapAdd": rp.capabilities(opts.list("cap-add")),
        "CapDrop": rp.capabilities(opts.list("cap-drop")), "CgroupnsMode": opts.str("cgroupns"),
        "Dns": opts.list("dns"), "DnsOptions": opts.list("dns-option"),
        "DnsSearch": opts.list("dns-search"), "ExtraHosts": opts.list("add-host") or None,
        "GroupAdd": opts.list("group-add") or None, "IpcMode": opts.str("ipc"), "Cgroup": "",
        "Links": opts.list("link") or None, "OomScoreAdj": opts.int("oom-score-adj"),
        "PidMode": opts.str("pid"), "Privileged": opts.on("privileged"),
        "PublishAllPorts": opts.on("publish-all"), "ReadonlyRootfs": opts.on("read-only"),
        "SecurityOpt": opts.list("security-opt") or None,
    }  # fmt: skip
    if opts.list("storage-opt"):
        host["StorageOpt"] = rp.kv_map(opts.list("storage-opt"))
    if opts.list("tmpfs"):
        host["Tmpfs"] = {t.partition(":")[0]: t.partition(":")[2] for t in opts.list("tmpfs")}
    host.update(
        UTSMode=opts.str("uts"), UsernsMode=opts.str("userns"),
        ShmSize=_bytes(opts.str("shm-size")),
    )  # fmt: skip
    if opts.list("sysctl"):
        host["Sysctls"] = rp.kv_map(opts.list("sysctl"))
    if opts.str("runtime"):
        host["Runtime"] = opts.str("runtime")
    cpus = opts.str("cpus")
    host.update({
        "Isolation": "", "CpuShares": opts.int("cpu-shares"), "Memory": _bytes(opts.str("memory")),
        "NanoCpus": int(round(float(cpus) * 1e9)) if cpus else 0,
        "CgroupParent": opts.str("cgroup-parent"), "BlkioWeight": 0, "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [], "CpuPeriod": opts.int("cpu-period"),
        "CpuQuota": opts.int("cpu-quota"), "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
        "CpusetCpus": opts.str("cpuset-cpus"), "CpusetMems": opts.str("cpuset-mems"),
        "Devices": [rp.parse_device(d) for d in opts.list("device")], "DeviceCgroupRules": None,
        "DeviceRequests": None, "MemoryReservation": _bytes(opts.str("memory-reservation")),
        "MemorySwap": _bytes(opts.str("memory-swap")),
        "MemorySwappiness": opts.int("memory-swappiness"),
        "OomKillDisable": opts.on("oom-kill-disable"), "PidsLimit": opts.int("pids-limit"),
        "Ulimits": [rp.parse_ulimit(u) for u in opts.list("ulimit")], "CpuCount": 0,
        "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
    })  # fmt: skip
    if opts.list("mount"):
        host["Mounts"] = [rp.parse_mount(m) for m in opts.list("mount")]
    host.update(MaskedPaths=None, ReadonlyPaths=None)
    if opts.on("init"):
        host["Init"] = True
    endpoints: dict[str, Any] = {}
    if network not in ("none", "host") and not network.startswith("container:"):
        endpoints[network] = _endpoint(
            aliases or None, opts.str("ip"), opts.str("ip6"), opts.str("mac-address")
        )
    body = {**config, "HostConfig": host, "NetworkingConfig": {"EndpointsConfig": endpoints}}
    return Spec(body, opts)
