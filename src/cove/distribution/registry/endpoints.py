"""Where a repository is served: the registry host, mirrors first for docker.io, and TLS.

Docker's rules, kept here as pure data: ``docker.io`` is served by ``registry-1.docker.io``;
``registry-mirrors`` are tried in order for docker.io only and the registry itself last; a
registry is *insecure* (plain HTTP, or TLS without verification) when it is listed in
``insecure-registries`` (host, host:port or a CIDR) or is a loopback address (127.0.0.0/8 and
::1, insecure by default as in Docker).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cove.errors import InvalidArgument
from cove.oci.reference import DEFAULT_DOMAIN

HUB_HOST = "registry-1.docker.io"
INDEX_NAME = "docker.io"


@dataclass(frozen=True)
class Endpoint:
    host: str  # host[:port] as it goes on the wire
    scheme: str  # "https" or "http"
    verify: bool = True  # verify the TLS certificate (https only)
    mirror: bool = False
    fallback_http: bool = False  # insecure registry: try https unverified, then http

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}"


@dataclass
class RegistryConfig:
    mirrors: list[str] = field(default_factory=list)
    insecure: list[str] = field(default_factory=list)
    max_downloads: int = 3
    max_uploads: int = 5

    def is_insecure(self, host: str) -> bool:
        name = _hostname(host)
        for entry in self.insecure:
            entry = entry.strip()
            if "://" in entry:
                entry = urlsplit(entry).netloc
            if entry in (host, name):
                return True
            if "/" in entry:
                try:
                    net = ipaddress.ip_network(entry, strict=False)
                    if ipaddress.ip_address(name) in net:
                        return True
                except ValueError:
                    continue
        try:
            return ipaddress.ip_address(name).is_loopback
        except ValueError:
            return name == "localhost"

    def endpoints(self, domain: str) -> list[Endpoint]:
        """The endpoints to try for a repository under ``domain``, in order."""
        out: list[Endpoint] = []
        if domain == DEFAULT_DOMAIN:
            for m in self.mirrors:
                out.append(mirror_endpoint(m, self))
            out.append(Endpoint(HUB_HOST, "https"))
            return out
        if self.is_insecure(domain):
            out.append(Endpoint(domain, "https", verify=False, fallback_http=True))
        else:
            out.append(Endpoint(domain, "https"))
        return out


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def mirror_endpoint(url: str, cfg: RegistryConfig) -> Endpoint:
    """A ``registry-mirrors`` entry: a URL with a scheme, as daemon.json requires."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidArgument(f"invalid mirror: unsupported scheme {url!r} in {url!r}")
    if parts.path not in ("", "/"):
        raise InvalidArgument(f"invalid mirror: path, query, or fragment at end of the URI {url!r}")
    verify = not cfg.is_insecure(parts.netloc)
    return Endpoint(parts.netloc, parts.scheme, verify=verify, mirror=True)


def index_host(domain: str) -> str:
    """The name credentials are filed under, as ``docker login`` files them."""
    return "https://index.docker.io/v1/" if domain == INDEX_NAME else domain
