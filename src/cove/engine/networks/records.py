"""Typed records of networks and endpoints, in the JSON shapes Docker's API shows.

A network record is a ``Network``: Docker's ``network inspect`` object without
``Containers`` (derived from the container records when asked), plus cove's private notes
under ``_cove``; it is saved as is, one file per network under ``<data-root>/network``.  An
endpoint is an ``EndpointSettings``, kept in its container's record under
``NetworkSettings.Networks.<network name>``.  TypedDicts rather than classes: the records
on disk, in the cluster store and on the wire stay byte for byte what they were, while every
key the code reads or writes is checked by mypy.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, cast, get_args

from cove.engine.record import Container
from cove.errors import InvalidArgument
from cove.network import ipam
from cove.util.jsontypes import Json


class IPAMConfig(TypedDict, total=False):
    """One pool of a network (``IPAM.Config[]``)."""

    Subnet: str
    IPRange: str
    Gateway: str
    AuxiliaryAddresses: dict[str, str]


class IPAM(TypedDict):
    Driver: str
    Options: dict[str, str] | None
    Config: list[IPAMConfig]


class NetworkPrivate(TypedDict, total=False):
    """cove's notes on a network, never shown by the API."""

    created_parent: bool  # macvlan: the parent's VLAN link was made by cove, removed with it


class Network(TypedDict):
    Name: str
    Id: str
    Created: str
    Scope: str
    Driver: str
    EnableIPv4: bool
    EnableIPv6: bool
    IPAM: IPAM
    Internal: bool
    Attachable: bool
    Ingress: bool
    ConfigFrom: dict[str, str]
    ConfigOnly: bool
    Options: dict[str, str]
    Labels: dict[str, str]
    _cove: NotRequired[NetworkPrivate]


class EndpointIPAMConfig(TypedDict, total=False):
    """An endpoint's requested addresses (``EndpointSettings.IPAMConfig``)."""

    IPv4Address: str
    IPv6Address: str
    LinkLocalIPs: list[str]


class EndpointSettings(TypedDict, total=False):
    """A container's endpoint on one network.  ``total=False``: requests (``docker network
    connect``, ``NetworkingConfig``) give only some keys; records made here have them all
    (``empty_endpoint``)."""

    IPAMConfig: EndpointIPAMConfig | None
    Links: list[str] | None
    Aliases: list[str] | None
    MacAddress: str
    DriverOpts: dict[str, str] | None
    GwPriority: int
    NetworkID: str
    EndpointID: str
    Gateway: str
    IPAddress: str
    IPPrefixLen: int
    IPv6Gateway: str
    GlobalIPv6Address: str
    GlobalIPv6PrefixLen: int
    DNSNames: list[str] | None


class NetworkMember(TypedDict):
    """One entry of ``network inspect``'s ``Containers``."""

    Name: str
    EndpointID: str
    MacAddress: str
    IPv4Address: str
    IPv6Address: str


_DEFAULTS: dict[str, Any] = {
    "Scope": "local",
    "EnableIPv4": True,
    "EnableIPv6": False,
    "Internal": False,
    "Attachable": False,
    "Ingress": False,
    "ConfigFrom": {"Network": ""},
    "ConfigOnly": False,
    "Options": {},
    "Labels": {},
}


def load_network(raw: object) -> Network:
    """A network record read from disk or from the cluster store.  Records of every earlier
    version load: a key they lack gets Docker's default; ``ValueError`` for something that
    is not a network record at all (the caller skips that file)."""
    if not isinstance(raw, dict):
        raise ValueError("a network record is a JSON object")
    for key in ("Name", "Id", "Driver", "Created"):
        if not isinstance(raw.get(key), str):
            raise ValueError(f"network record without {key}")
    for key, value in _DEFAULTS.items():
        if raw.get(key) is None:
            raw[key] = value.copy() if isinstance(value, dict) else value
    ipam = raw.get("IPAM")
    if not isinstance(ipam, dict):
        raw["IPAM"] = ipam = {"Driver": "default", "Options": None, "Config": []}
    if ipam.get("Config") is None:
        ipam["Config"] = []
    return cast(Network, raw)


def network_json(n: Network) -> Json:
    """The API's view of ``n``: everything but cove's private notes (a shallow copy)."""
    return {k: v for k, v in n.items() if k != "_cove"}


def ipam_config(raw: dict[str, Any]) -> IPAMConfig:
    """A pool from a create request, kept as given (its fields are checked by ipam)."""
    return cast(IPAMConfig, raw)


def endpoints(c: Container) -> dict[str, EndpointSettings]:
    """``c``'s endpoints by network name (its record's own dict: changes are kept, once
    the record is saved; an empty one when it has none)."""
    # Called for every container at each start (firewall plan, links): a typed name instead
    # of typing.cast, one call less per container
    found: dict[str, EndpointSettings] | None = c.data["NetworkSettings"].get("Networks")
    return found or {}


def endpoint_on(c: Container, network: str) -> EndpointSettings | None:
    return endpoints(c).get(network)


def endpoint_request(body: object) -> EndpointSettings:
    """An EndpointSettings object from a request body, only its type checked here (each
    field is read with ``.get`` and converted where it is used)."""
    return cast(EndpointSettings, body) if isinstance(body, dict) else {}


def empty_endpoint(
    aliases: list[str] | None = None, ipam_cfg: EndpointIPAMConfig | None = None
) -> EndpointSettings:
    return {
        "IPAMConfig": ipam_cfg or None,
        "Links": None,
        "Aliases": aliases or None,
        "MacAddress": "",
        "DriverOpts": None,
        "GwPriority": 0,
        "NetworkID": "",
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": None,
    }


def empty_network_settings(nets: dict[str, EndpointSettings]) -> Json:
    """A new container's ``NetworkSettings``: nothing given yet but its endpoints ``nets``."""
    return {
        "Bridge": "",
        "SandboxID": "",
        "SandboxKey": "",
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": {},
        "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None,
        "EndpointID": "",
        "Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "MacAddress": "",
        "Networks": nets,
    }


# the first endpoint's fields that a default-bridge container also shows at NetworkSettings' top
TopField = Literal["EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "MacAddress",
                  "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPv6Gateway"]  # fmt: skip
TOP_FIELDS: tuple[TopField, ...] = get_args(TopField)


def check_ipam_request(n: Network, ipam_cfg: EndpointIPAMConfig | None) -> None:
    """An endpoint's requested addresses, checked as dockerd does at create and connect."""
    if not ipam_cfg:
        return
    v4, v6 = str(ipam_cfg.get("IPv4Address") or ""), str(ipam_cfg.get("IPv6Address") or "")
    if (v4 or v6) and n["Name"] == "bridge":
        raise InvalidArgument(
            "user specified IP address is supported on user defined networks only"
        )
    ipam.check_requested(v4, v6)


def ipv6_config(n: Network) -> IPAMConfig | None:
    """The IPv6 ``IPAM.Config`` entry of a network with EnableIPv6 (else None: dockerd keeps
    an IPv6 subnet given without it, and gives nobody an address from it)."""
    if not n.get("EnableIPv6"):
        return None
    found = ipam.family_config(n["IPAM"]["Config"] or [], 6)
    return cast(IPAMConfig, dict(found)) if found is not None else None


def set_endpoint_options(ep: EndpointSettings, cfg: EndpointSettings) -> None:
    """Copy an EndpointSettings request's links and driver options into the endpoint."""
    ep["Links"] = [str(x) for x in cfg.get("Links") or []] or None
    ep["DriverOpts"] = {str(k): str(v) for k, v in (cfg.get("DriverOpts") or {}).items()} or None


def next_ifname(c: Container) -> str:
    used = c.net_ifnames()
    i = 0
    while f"eth{i}" in used:
        i += 1
    return f"eth{i}"
