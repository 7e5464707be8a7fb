"""The files Docker bind-mounts into every container: /etc/hostname, /etc/hosts, resolv.conf.

Pure text builders plus one writer; the engine bind-mounts the results.
"""

from __future__ import annotations

import os
import re

from cove.util.fs import atomic_write

_LOCAL_NS = re.compile(r"^\s*nameserver\s+(127\.\S+|::1)\s*$", re.M)


def hosts_text(hostname: str, extra: list[str], host_network: bool) -> str:
    if host_network:
        try:
            with open("/etc/hosts") as f:
                base = f.read()
        except OSError:
            base = "127.0.0.1\tlocalhost\n"
        return base + "".join(f"{_host_line(e)}\n" for e in extra)
    lines = [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "ff00::0\tip6-mcastprefix",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
    ]
    lines += [_host_line(e) for e in extra]
    return "\n".join(lines) + "\n"


def _host_line(entry: str) -> str:
    """``--add-host name:ip`` becomes ``ip\tname``."""
    name, _, ip = entry.partition(":")
    if "=" in entry and not ip:
        name, _, ip = entry.partition("=")
    return f"{ip}\t{name}"


def resolv_text(
    host_resolv: str, dns: list[str], search: list[str], options: list[str], host_network: bool
) -> str:
    """Docker's rules: explicit --dns wins; otherwise the host's file, minus loopback
    nameservers (unreachable from a private network namespace)."""
    if not dns and not search and not options:
        if host_network:
            return host_resolv
        text = _LOCAL_NS.sub("", host_resolv)
        if not re.search(r"^\s*nameserver\s", text, re.M):
            # Docker falls back to public resolvers here; we write them but send nothing.
            text += "\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        return text
    old_search = [ln.split()[1:] for ln in host_resolv.splitlines() if ln.startswith("search ")]
    out = []
    # dockerd's order: search, then the nameservers, then options
    s_list = search or (old_search[-1] if old_search else [])
    if s_list and s_list != ["."]:
        out.append("search " + " ".join(s_list))
    servers = dns or re.findall(r"^\s*nameserver\s+(\S+)", _LOCAL_NS.sub("", host_resolv), re.M)
    out += [f"nameserver {s}" for s in servers]
    if options:
        out.append("options " + " ".join(options))
    return "\n".join(out) + "\n"


def write_etc_files(
    cdir: str,
    hostname: str,
    extra_hosts: list[str],
    dns: list[str],
    dns_search: list[str],
    dns_options: list[str],
    host_network: bool,
) -> None:
    try:
        with open("/etc/resolv.conf") as f:
            host_resolv = f.read()
    except OSError:
        host_resolv = ""
    if host_network:
        try:
            with open("/etc/hostname") as f:
                hostname = f.read().strip() or hostname
        except OSError:
            pass
    # the bare name, as dockerd writes it; the domain goes to the kernel (the OCI
    # domainname) and to the container's line in /etc/hosts
    atomic_write(os.path.join(cdir, "hostname"), (hostname + "\n").encode(), sync=False)
    atomic_write(
        os.path.join(cdir, "hosts"),
        hosts_text(hostname, extra_hosts, host_network).encode(),
        sync=False,
    )
    atomic_write(
        os.path.join(cdir, "resolv.conf"),
        resolv_text(host_resolv, dns, dns_search, dns_options, host_network).encode(),
        sync=False,
    )
