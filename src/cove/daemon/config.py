"""coved's configuration: /etc/cove/daemon.json, overridden by command-line flags.

``DaemonConfig`` is the one table of daemon settings: each field declares a setting's
daemon.json key (its name with dashes), type, default, flags, one-line doc and where it goes
(daemon/settings.py derives the parsing, the flags and the engine's copy from it). Like
dockerd: an unknown key in the file is an error, and so is a setting given both in the file
and as a flag, so a typo never silently falls back to a default.
"""

# no `from __future__ import annotations`: the fields' types are read at run time
# (settings.KINDS) to check daemon.json values and build the flags.  setting() returns a
# dataclasses.field (a fresh copy of a list or dict default for each instance):
# ruff: noqa: RUF009

import json
import os
from dataclasses import dataclass
from typing import Any

from cove.daemon.settings import ENGINE, NET, by_key, go_text, setting, type_error, value_error
from cove.errors import InvalidArgument

DEFAULT_CONFIG_FILE = "/etc/cove/daemon.json"
DEFAULT_SOCKET = "unix:///run/cove.sock"


def _not_negative(what: str) -> Any:
    def check(v: int) -> str | None:
        return f"invalid max concurrent {what}: {v}" if v < 0 else None

    return check


def _ips(values: list[str]) -> str | None:
    import ipaddress  # only when dns is set: coved's start imports little

    for v in values:
        try:
            ipaddress.ip_address(v)
        except ValueError:
            return f"{v} is not an ip address"
    return None


def _mirrors(urls: list[str]) -> str | None:
    """dockerd refuses a mirror that is not a bare http(s) URL when it starts; the words
    are the registry client's, which would say the same at the first pull."""
    from cove.distribution.registry.endpoints import RegistryConfig, mirror_endpoint
    from cove.errors import CoveError

    try:
        for url in urls:
            mirror_endpoint(url, RegistryConfig())
    except CoveError as e:
        return e.message
    return None


def _runtime_args(runtimes: dict[str, dict[str, Any]]) -> str | None:
    """dockerd passes a runtime's ``runtimeArgs`` to it; cove's runtime driver runs a
    runtime by its path alone, so arguments are refused rather than dropped."""
    for name, spec in runtimes.items():
        if spec.get("runtimeArgs"):
            return (
                f"runtimes: {name}: runtimeArgs are not supported (give the path of a wrapper "
                "script that adds them)"
            )
    return None


def _store_opts(opts: dict[str, str]) -> str | None:
    """The cluster store's options cove reads (the overlay's): discovery.ttl, in seconds.
    dockerd's kv.* TLS options have no counterpart here, so they are refused, not dropped."""
    for key, value in opts.items():
        if key != "discovery.ttl":
            return f"cluster-store-opts: {key} is not supported (only discovery.ttl is)"
        if not value.isdigit():
            return f"cluster-store-opts: discovery.ttl {value!r} is not a number of seconds"
    return None


# fmt: off
@dataclass
class DaemonConfig:
    # where things live
    data_root: str = setting("/var/lib/cove", "root of persistent state (default /var/lib/cove)",
                             "wiring", flags=("--data-root", "-g", "--graph"), aliases=("graph",))
    exec_root: str = setting("/run/cove", "root of runtime state (default /run/cove)", "wiring",
                             flags=("--exec-root",))
    pidfile: str = setting("", "pid file (default <exec-root>/coved.pid)", "main",
                           flags=("-p", "--pidfile"))
    storage_driver: str = setting("", "overlay2, overlay, fuse-overlayfs, native (vfs)", "wiring",
                                  flags=("-s", "--storage-driver"))  # "": overlay2 if possible
    storage_opts: list[str] = setting([], "storage driver options (none are supported)",
                                      "wiring", flags=("--storage-opt",))
    default_runtime: str = setting("crun", "crun (default) or runc", "wiring",
                                   flags=("--default-runtime",))
    runtimes: dict[str, dict[str, Any]] = setting({}, 'more runtimes: {"name": {"path": ...}}',
                                                  "wiring", check=_runtime_args)
    live_restore: bool = setting(True, "containers keep running while coved is stopped "
                                 "(always; false is refused)", "wiring", flags=("--live-restore",))
    # logging, of the daemon and of containers
    debug: bool = setting(False, "debug logging", ENGINE, flags=("-D", "--debug"))
    log_level: str = setting("info", "the daemon's logging level: debug, info, warn, "
                             "error or fatal", "main",
                             flags=("-l", "--log-level"),
                             choices=("debug", "info", "warn", "error", "fatal"))
    log_driver: str = setting("json-file", "containers' default logging driver", "wiring",
                              flags=("--log-driver",))
    log_opts: dict[str, str] = setting({}, "containers' default log driver options (key=value)",
                                       ENGINE, flags=("--log-opt",))
    # the API's sockets (daemon/listeners.py)
    hosts: list[str] = setting([DEFAULT_SOCKET], "socket to listen on: unix:///run/cove.sock, "
                               "tcp://127.0.0.1:2376 (repeatable)", "listeners",
                               flags=("-H", "--host"))
    group: str = setting("cove", "group of the unix socket (default cove, if it exists)",
                         "listeners", flags=("-G", "--group"))
    tls: bool | None = setting(None, "TLS on TCP hosts; implied by --tlsverify", "listeners",
                               flags=("--tls",))
    tlsverify: bool | None = setting(None, "TLS, and clients must show a certificate signed by "
                                     "--tlscacert", "listeners", flags=("--tlsverify",))
    # "": $DOCKER_CERT_PATH or ~/.docker, then ca.pem, cert.pem, key.pem
    tlscacert: str = setting("", "trust client certificates signed only by this CA",
                             "listeners", flags=("--tlscacert",))
    tlscert: str = setting("", "the server's TLS certificate", "listeners", flags=("--tlscert",))
    tlskey: str = setting("", "the server's TLS key", "listeners", flags=("--tlskey",))
    # images and registries
    registry_mirrors: list[str] = setting([], "registry mirror for docker.io (repeatable)",
                                          ENGINE, flags=("--registry-mirror",),
                                          check=_mirrors, at_start=True)
    insecure_registries: list[str] = setting([], "registry spoken to without TLS checks "
                                             "(repeatable)", ENGINE,
                                             flags=("--insecure-registry",))
    max_concurrent_downloads: int = setting(3, "layers one pull downloads at once", ENGINE,
                                            flags=("--max-concurrent-downloads",),
                                            check=_not_negative("downloads"))
    max_concurrent_uploads: int = setting(5, "layers one push uploads at once", ENGINE,
                                          flags=("--max-concurrent-uploads",),
                                          check=_not_negative("uploads"))
    # containers' defaults
    dns: list[str] = setting([], "DNS server for containers (repeatable)", ENGINE,
                             flags=("--dns",), check=_ips)
    dns_search: list[str] = setting([], "DNS search domain for containers (repeatable)", ENGINE,
                                    flags=("--dns-search",))
    dns_opts: list[str] = setting([], "resolv.conf option for containers (repeatable)", ENGINE,
                                  flags=("--dns-opt",))
    seccomp_profile: str = setting("", "containers' default seccomp profile: a path, builtin or "
                                   "unconfined", "wiring", flags=("--seccomp-profile",))
    no_new_privileges: bool = setting(False, "containers run with no-new-privileges", ENGINE,
                                      flags=("--no-new-privileges",))
    userns_remap: str = setting("", "user namespaces: 'default' or user[:group]", "main",
                                flags=("--userns-remap",))  # daemon/userns.py
    rootless_network: str = setting("", "rootless user-mode network: pasta (default when "
                                    "installed) or slirp4netns", "main",
                                    flags=("--rootless-network",))
    # networking, as dockerd spells it (NetOptions fields of the same names)
    iptables: bool = setting(True, "write firewall rules (NAT, published ports)", NET,
                             flags=("--iptables",))
    ip_forward: bool = setting(True, "turn on IPv4 forwarding", NET, flags=("--ip-forward",))
    ip_masq: bool = setting(True, "masquerade traffic leaving bridge subnets", NET,
                            flags=("--ip-masq",))
    icc: bool = setting(True, "containers on the default bridge talk to each other", NET,
                        flags=("--icc",))
    bip: str = setting("", "default bridge address and prefix, e.g. 172.17.0.1/16", NET,
                       flags=("--bip",))
    bridge: str = setting("", "the default bridge ('none': no default bridge)", NET,
                          flags=("-b", "--bridge"))
    fixed_cidr: str = setting("", "IPv4 range of the default bridge for containers", NET,
                              flags=("--fixed-cidr",))
    ipv6: bool = setting(False, "IPv6 on the default bridge", NET, flags=("--ipv6",))
    fixed_cidr_v6: str = setting("", "IPv6 subnet of the default bridge (with --ipv6)", NET,
                                 flags=("--fixed-cidr-v6",))
    default_address_pools: list[dict[str, Any]] = setting(
        [], "where automatic bridge subnets come from", NET)
    userland_proxy: bool = setting(False, "published ports are always kernel NAT (true is "
                                   "refused)", "wiring", flags=("--userland-proxy",))
    local_port_mss: bool = setting(True, "the bridge's MSS for host connections to published "
                                   "ports", NET, flags=("--local-port-mss",))
    cluster_store: str = setting("", "etcd://host:port for overlay networks", NET)
    cluster_advertise: str = setting("", "this host's overlay address or interface", NET)
    cluster_store_opts: dict[str, str] = setting({}, "the cluster store's options "
                                                 "(discovery.ttl)", NET, check=_store_opts)
    # fmt: on

    @property
    def socket_paths(self) -> list[str]:
        """The unix sockets among ``hosts`` (daemon/listeners.py checks the others)."""
        out = []
        for h in self.hosts:
            if h.startswith("unix://"):
                out.append(h[len("unix://") :])
            elif h.startswith("/"):
                out.append(h)
        return out


def _read(path: str | None) -> tuple[str, dict[str, Any]]:
    explicit = path is not None
    path = path or DEFAULT_CONFIG_FILE
    where = f"unable to configure the cove daemon with file {path}: "
    if not os.path.exists(path):
        if explicit:
            raise InvalidArgument(where + "no such file")
        return where, {}
    try:
        with open(path) as f:
            text = f.read()
        values = json.loads(text) if text.strip() else {}
    except (OSError, ValueError) as e:
        raise InvalidArgument(where + str(e))
    if not isinstance(values, dict):
        kind = "array" if isinstance(values, list) else type(values).__name__
        raise InvalidArgument(
            where + f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
        )
    return where, values


def load(path: str | None, flags: dict[str, Any]) -> DaemonConfig:
    """The daemon.json at ``path`` (default /etc/cove/daemon.json, if it exists) merged with
    ``flags``: daemon.json keys given on the command line (main.flag_settings).  Errors are
    InvalidArgument with dockerd's words."""
    where, file_values = _read(path)
    table = by_key(DaemonConfig)
    unknown = sorted(k for k in file_values if k not in table)
    if unknown:
        raise InvalidArgument(
            where + "the following directives don't match any configuration option: "
            + ", ".join(unknown)
        )  # fmt: skip
    named = {table[k].key: k for k in file_values}  # a setting -> the name the file gave it
    both = sorted(k for k in flags if k in named)
    if both:
        raise InvalidArgument(
            where + "the following directives are specified both as a flag and in the "
            "configuration file: "
            + ", ".join(
                f"{k}: (from flag: {go_text(flags[k])}, from file: "
                f"{go_text(file_values[named[k]])})"
                for k in both
            )
        )
    cfg = DaemonConfig()
    for name, value in file_values.items():
        e = table[name]
        if value is None:  # Go's json leaves the field alone: the default stays
            continue
        wrong = type_error(e, value)
        if wrong:
            raise InvalidArgument(where + wrong)
        bad = value_error(e, value, where)
        if bad:
            raise InvalidArgument(bad)
        setattr(cfg, e.attr, value)
    for key, value in flags.items():
        e = table[key]
        bad = value_error(e, value, "")
        if bad:
            raise InvalidArgument(bad)
        setattr(cfg, e.attr, value)
    return cfg
