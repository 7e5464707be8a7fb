"""A container's ``LogConfig`` checked and resolved into a plan (pure).

Docker's drivers and their option names are kept; the words of Docker's refusals too.
cove caps every log by default (``DEFAULT_MAX_SIZE`` x ``DEFAULT_MAX_FILE``), where
Docker's json-file grows without bound: a chatty container must never fill a disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cove.errors import InvalidArgument

DEFAULT_MAX_SIZE = 20 * 1024 * 1024
DEFAULT_MAX_FILE = 5
# drivers cove writes or forwards; Docker's others are known names it cannot serve
READABLE = ("json-file", "local", "k8s-file", "journald", "syslog")
DRIVERS = (*READABLE, "none")
UNSUPPORTED = ("fluentd", "gelf", "awslogs", "splunk", "gcplogs", "logentries", "etwlogs")

_ATTRS = ("labels", "labels-regex", "env", "env-regex", "tag")
_FILE_OPTS = ("max-size", "max-file", "compress")
OPTIONS: dict[str, tuple[str, ...]] = {
    "json-file": (*_FILE_OPTS, *_ATTRS),
    "k8s-file": (*_FILE_OPTS, *_ATTRS),
    "local": _FILE_OPTS,
    "none": (),
    "journald": (*_ATTRS, *_FILE_OPTS),
    "syslog": (
        "syslog-address", "syslog-facility", "syslog-tls-ca-cert", "syslog-tls-cert",
        "syslog-tls-key", "syslog-tls-skip-verify", "syslog-format", *_ATTRS, *_FILE_OPTS,
    ),
}  # fmt: skip

FACILITIES = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
    "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
    **{f"local{i}": 16 + i for i in range(8)},
}  # fmt: skip
SYSLOG_FORMATS = ("", "rfc3164", "rfc5424", "rfc5424micro")
SYSLOG_PROTOS = ("unix", "unixgram", "tcp", "udp")

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)[iI]?[bB]?$")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


@dataclass(frozen=True)
class LogPlan:
    """What the monitor and the keeper do for one container."""

    driver: str
    max_size: int = DEFAULT_MAX_SIZE  # bytes per file; conmon's --log-size-max
    max_file: int = DEFAULT_MAX_FILE  # the live file included, as Docker counts
    compress: bool = False  # gzip rotated files
    tag: str = ""
    syslog_address: str = ""
    syslog_facility: int = FACILITIES["daemon"]
    syslog_format: str = ""

    @property
    def writes_file(self) -> bool:
        return self.driver != "none"


def parse_size(value: str) -> int:
    """Docker's ``RAMInBytes``: ``10m``, ``1.5g``, ``200k``, ``512``; binary units."""
    m = _SIZE.match(value.strip())
    if not m:
        raise InvalidArgument(f"failed to initialize logging driver: invalid size: '{value}'")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _parse_bool(value: str) -> bool:
    v = value.strip()
    if v in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if v in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise InvalidArgument(
        f'failed to initialize logging driver: strconv.ParseBool: parsing "{value}": invalid syntax'
    )


def check_driver(driver: str) -> None:
    if driver in DRIVERS:
        return
    if driver in UNSUPPORTED:
        raise InvalidArgument(f"logging driver {driver} is not supported by cove")
    raise InvalidArgument(f'error looking up logging plugin {driver}: plugin "{driver}" not found')


def container_config(given: Any, daemon_driver: str, daemon_opts: dict[str, str]) -> dict[str, Any]:
    """The ``LogConfig`` a new container records, as dockerd builds it: no type means the
    daemon's default driver, and the daemon's options fill in what a container of that same
    driver did not set.  Raises InvalidArgument for wrong types."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise InvalidArgument("json: cannot unmarshal into Go struct field HostConfig.LogConfig")
    driver = given.get("Type") or daemon_driver
    opts = given.get("Config") or {}
    if not isinstance(driver, str) or not isinstance(opts, dict):
        raise InvalidArgument("json: cannot unmarshal into Go struct field LogConfig.Config")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in opts.items()):
        raise InvalidArgument(
            "json: cannot unmarshal into Go struct field LogConfig.Config of type string"
        )
    if driver == daemon_driver:
        opts = {**daemon_opts, **opts}
    return {"Type": driver, "Config": dict(opts)}


def plan(log_config: dict[str, Any]) -> LogPlan:
    """Check a recorded ``LogConfig`` (see ``container_config``) and resolve its caps:
    every refusal is InvalidArgument in Docker's words."""
    driver = str(log_config.get("Type") or "json-file")
    opts: dict[str, str] = dict(log_config.get("Config") or {})
    check_driver(driver)
    allowed = OPTIONS[driver]
    for key in opts:
        if driver != "none" and key not in allowed:
            where = "log driver local" if driver == "local" else f"{driver} log driver"
            raise InvalidArgument(f"unknown log opt '{key}' for {where}")
    if driver == "none":
        return LogPlan("none", max_size=0, max_file=0)
    max_size, max_file, compress = DEFAULT_MAX_SIZE, DEFAULT_MAX_FILE, driver == "local"
    if "max-size" in opts:
        max_size = parse_size(opts["max-size"])
        if max_size < 0:
            raise InvalidArgument(
                f"failed to initialize logging driver: invalid size: '{opts['max-size']}'"
            )
    if "max-file" in opts:
        try:
            max_file = int(opts["max-file"])
        except ValueError:
            raise InvalidArgument(
                f'failed to initialize logging driver: strconv.Atoi: parsing "{opts["max-file"]}": '
                "invalid syntax"
            ) from None
        if max_file < 1:
            raise InvalidArgument(
                "failed to initialize logging driver: max-file cannot be less than 1"
            )
    if "compress" in opts:
        compress = _parse_bool(opts["compress"])
    if max_size == 0:  # "0" is Docker's "no cap"; cove keeps its own cap (documented)
        max_size = DEFAULT_MAX_SIZE
    extra: dict[str, Any] = {}
    if driver == "syslog":
        extra = _syslog(opts)
    return LogPlan(
        driver, max_size=max_size, max_file=max_file, compress=compress,
        tag=opts.get("tag", ""), **extra,
    )  # fmt: skip


def _syslog(opts: dict[str, str]) -> dict[str, Any]:
    address = opts.get("syslog-address", "")
    if address:
        proto, sep, rest = address.partition("://")
        if not sep or proto not in (*SYSLOG_PROTOS, "tcp+tls"):
            raise InvalidArgument(
                f"syslog-address should be in form proto://address, got {address}"
            )
        if proto == "tcp+tls" or any(k.startswith("syslog-tls") for k in opts):
            raise InvalidArgument("syslog over TLS is not supported by cove")
        if not rest:
            raise InvalidArgument(
                f"syslog-address should be in form proto://address, got {address}"
            )
    facility = opts.get("syslog-facility", "daemon")
    if facility.isdigit():
        if not 0 <= int(facility) <= 23:
            raise InvalidArgument("invalid syslog facility")
        code = int(facility)
    elif facility in FACILITIES:
        code = FACILITIES[facility]
    else:
        raise InvalidArgument("invalid syslog facility")
    fmt = opts.get("syslog-format", "")
    if fmt not in SYSLOG_FORMATS:
        raise InvalidArgument("Invalid syslog format")
    return {"syslog_address": address, "syslog_facility": code, "syslog_format": fmt}
