"""coved's configuration: /etc/cove/daemon.json, overridden by command-line flags.

Like dockerd: an unknown key in the file is an error, and so is a setting given both in the
file and as a flag, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from cove.errors import InvalidArgument

DEFAULT_CONFIG_FILE = "/etc/cove/daemon.json"
DEFAULT_SOCKET = "unix:///run/cove.sock"

# key in daemon.json -> attribute of DaemonConfig
_KEYS: dict[str, str] = {
    "data-root": "data_root",
    "graph": "data_root",  # the legacy name Docker still accepts
    "exec-root": "exec_root",
    "hosts": "hosts",
    "storage-driver": "storage_driver",
    "default-runtime": "default_runtime",
    "runtimes": "runtimes",
    "debug": "debug",
    "log-level": "log_level",
    "pidfile": "pidfile",
    "registry-mirrors": "registry_mirrors",
    "insecure-registries": "insecure_registries",
    "dns": "dns",
    "dns-search": "dns_search",
    "dns-opts": "dns_opts",
    "iptables": "iptables",
    "ip-forward": "ip_forward",
    "ip-masq": "ip_masq",
    "icc": "icc",
    "bip": "bip",
    "bridge": "bridge",
    "fixed-cidr": "fixed_cidr",
    "ipv6": "ipv6",
    "fixed-cidr-v6": "fixed_cidr_v6",
    "default-address-pools": "default_address_pools",
    "userland-proxy": "userland_proxy",
    "local-port-mss": "local_port_mss",
    "live-restore": "live_restore",
    "max-concurrent-downloads": "max_concurrent_downloads",
    "max-concurrent-uploads": "max_concurrent_uploads",
    "storage-opts": "storage_opts",
    "log-driver": "log_driver",
    "log-opts": "log_opts",
    "cluster-store": "cluster_store",
    "cluster-advertise": "cluster_advertise",
    "cluster-store-opts": "cluster_store_opts",
    "seccomp-profile": "seccomp_profile",
    "no-new-privileges": "no_new_privileges",
    # the API beyond the local socket (daemon/listeners.py)
    "tls": "tls",
    "tlsverify": "tlsverify",
    "tlscacert": "tlscacert",
    "tlscert": "tlscert",
    "tlskey": "tlskey",
    "group": "group",
    "userns-remap": "userns_remap",
    "rootless-network": "rootless_network",
}
# attribute of DaemonConfig -> its daemon.json key: the name a command-line flag of the same
# destination is checked under (daemon/main.py derives its flags' keys from this)
KEY_OF: dict[str, str] = {attr: key for key, attr in _KEYS.items() if key != "graph"}
# booleans whose absence means something (dockerd: any --tlsverify turns TLS on)
_OPTIONAL_BOOLS = ("tls", "tlsverify")


@dataclass
class DaemonConfig:
    data_root: str = "/var/lib/cove"
    exec_root: str = "/run/cove"
    hosts: list[str] = field(default_factory=lambda: [DEFAULT_SOCKET])
    storage_driver: str = ""  # "" = overlay2 when the kernel allows, else native
    default_runtime: str = "crun"
    runtimes: dict[str, Any] = field(default_factory=dict)
    debug: bool = False
    log_level: str = "info"
    pidfile: str = ""
    registry_mirrors: list[str] = field(default_factory=list)
    insecure_registries: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_opts: list[str] = field(default_factory=list)
    iptables: bool = True
    ip_forward: bool = True
    ip_masq: bool = True
    icc: bool = True
    bip: str = ""
    bridge: str = ""
    fixed_cidr: str = ""
    ipv6: bool = False
    fixed_cidr_v6: str = ""
    default_address_pools: list[dict[str, Any]] = field(default_factory=list)
    userland_proxy: bool = False
    local_port_mss: bool = True
    live_restore: bool = True
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    storage_opts: list[str] = field(default_factory=list)
    log_driver: str = "json-file"
    log_opts: dict[str, str] = field(default_factory=dict)
    cluster_store: str = ""
    cluster_advertise: str = ""
    cluster_store_opts: dict[str, str] = field(default_factory=dict)
    seccomp_profile: str = ""  # a profile's path, "builtin" or "unconfined" ("" = builtin)
    no_new_privileges: bool = False
    tls: bool | None = None
    tlsverify: bool | None = None
    tlscacert: str = ""  # "" = $DOCKER_CERT_PATH or ~/.docker, then ca.pem, cert.pem, key.pem
    tlscert: str = ""
    tlskey: str = ""
    group: str = "cove"  # the unix socket's group, when it exists
    userns_remap: str = ""  # "default", "user" or "user:group" (daemon/userns.py)
    rootless_network: str = ""  # "pasta" or "slirp4netns" ("": pasta when installed)

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


def load(path: str | None, flags: dict[str, Any]) -> DaemonConfig:
    """``flags``: daemon.json keys explicitly given on the command line."""
    cfg = DaemonConfig()
    file_values: dict[str, Any] = {}
    explicit = path is not None
    path = path or DEFAULT_CONFIG_FILE
    if os.path.exists(path):
        try:
            with open(path) as f:
                text = f.read()
            file_values = json.loads(text) if text.strip() else {}
        except (OSError, ValueError) as e:
            raise InvalidArgument(f"unable to configure the cove daemon with file {path}: {e}")
        if not isinstance(file_values, dict):
            raise InvalidArgument(
                f"unable to configure the cove daemon with file {path}: "
                "the file must hold a JSON object"
            )
    elif explicit:
        raise InvalidArgument(f"unable to configure the cove daemon with file {path}: no such file")
    unknown = sorted(k for k in file_values if k not in _KEYS)
    if unknown:
        raise InvalidArgument(
            "the following directives don't match any configuration option: " + ", ".join(unknown)
        )
    both = sorted(
        k for k in flags if k in file_values or (k == "data-root" and "graph" in file_values)
    )
    if both:
        raise InvalidArgument(
            "the following directives are specified both as a flag and in the configuration "
            "file: "
            + ", ".join(
                f"{k}: (from flag: {flags[k]}, from file: "
                f"{file_values.get(k, file_values.get('graph'))})"
                for k in both
            )
        )
    for k, v in {**file_values, **flags}.items():
        attr = _KEYS[k]
        default = getattr(cfg, attr)
        if (isinstance(default, bool) or k in _OPTIONAL_BOOLS) and not isinstance(v, bool):
            raise InvalidArgument(f"invalid value for {k}: {v!r} (a boolean is expected)")
        if isinstance(default, list) and isinstance(v, str):
            v = [v]
        setattr(cfg, attr, v)
    return cfg
