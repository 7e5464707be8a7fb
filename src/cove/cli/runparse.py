"""Values of ``run``/``create`` flags turned into API shapes (docker's opts package).

Every function raises ValueError with docker's wording for a value it cannot use.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _port_range(text: str, what: str) -> tuple[int, int]:
    lo, dash, hi = text.partition("-")
    try:
        a = int(lo)
        b = int(hi) if dash else a
    except ValueError:
        raise ValueError(f"invalid {what}: {text}") from None
    if not (0 <= a <= 65535 and 0 <= b <= 65535) or b < a:
        raise ValueError(f"invalid {what}: {text}")
    return a, b


def parse_publish(spec: str) -> list[tuple[str, str, str]]:
    """``[ip:][hostPort:]containerPort[/proto]`` -> [(port/proto, host ip, host port)]."""
    rest, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise ValueError(f"invalid proto: {proto}")
    ip = ""
    if rest.startswith("["):  # [::1]:8080:80
        end = rest.find("]")
        if end < 0:
            raise ValueError(f"invalid IP address: {rest}")
        ip, rest = rest[1:end], rest[end + 2 :]
        parts = rest.split(":")
    else:
        parts = rest.split(":")
        if len(parts) == 3:
            ip = parts.pop(0)
        elif len(parts) > 3:
            raise ValueError(f"invalid port format for --publish: {spec}")
    if len(parts) == 1:
        host, container = "", parts[0]
    else:
        host, container = parts[0], parts[1]
    if not container:
        raise ValueError(f"no port specified: {spec}<empty>")
    c_lo, c_hi = _port_range(container, "containerPort")
    if not host:
        return [(f"{p}/{proto}", ip, "") for p in range(c_lo, c_hi + 1)]
    h_lo, h_hi = _port_range(host, "hostPort")
    if h_hi - h_lo != c_hi - c_lo:
        if c_lo == c_hi:  # one container port, a range of host ports to pick from
            return [(f"{c_lo}/{proto}", ip, host)]
        raise ValueError(f"invalid ranges specified for container and host Ports: {container}"
                         f" and {host}")  # fmt: skip
    return [(f"{c}/{proto}", ip, str(h_lo + i)) for i, c in enumerate(range(c_lo, c_hi + 1))]


def parse_expose(spec: str) -> list[str]:
    rest, _, proto = spec.partition("/")
    lo, hi = _port_range(rest, "range format for --expose")
    return [f"{p}/{(proto or 'tcp').lower()}" for p in range(lo, hi + 1)]


def parse_ulimit(text: str) -> dict[str, Any]:
    name, eq, values = text.partition("=")
    if not eq:
        raise ValueError(f"invalid ulimit argument: {text}")
    soft, _, hard = values.partition(":")
    try:
        s = int(soft)
        h = int(hard) if hard else s
    except ValueError:
        bad = soft if not soft.lstrip("-").isdigit() else hard
        raise ValueError(f'strconv.ParseInt: parsing "{bad}": invalid syntax') from None
    if s > h:
        raise ValueError(f"ulimit soft limit must be less than or equal to hard limit: {s} > {h}")
    return {"Name": name, "Hard": h, "Soft": s}


def parse_device(spec: str) -> dict[str, str]:
    parts = spec.split(":")
    host = parts[0]
    inside = parts[1] if len(parts) > 1 and parts[1] else host
    perms = parts[2] if len(parts) > 2 else "rwm"
    if len(parts) == 2 and all(c in "rwm" for c in parts[1]) and parts[1]:
        inside, perms = host, parts[1]
    return {"PathOnHost": host, "PathInContainer": inside, "CgroupPermissions": perms}


def absolute_bind(spec: str) -> str:
    """``-v ./dir:/x``: docker's CLI turns a source starting with "." into an absolute path
    (a bare name would mean a volume)."""
    src, sep, rest = spec.partition(":")
    if src == "." or src.startswith(("./", "../")) or src == "..":
        import os

        return os.path.abspath(src) + sep + rest
    return spec


def parse_mount(spec: str) -> dict[str, Any]:
    """``--mount type=bind,source=/a,target=/b,readonly``."""
    m: dict[str, Any] = {"Type": "volume"}
    extra: dict[str, Any] = {}
    for field in spec.split(","):
        key, eq, value = field.partition("=")
        key = key.strip().lower()
        if key in ("readonly", "ro"):
            m["ReadOnly"] = value.lower() in ("", "1", "true")
        elif key == "volume-nocopy" and not eq:
            extra.setdefault("VolumeOptions", {})["NoCopy"] = True
        elif not eq:
            raise ValueError(f"invalid field '{field}' must be a key=value pair")
        elif key == "type":
            m["Type"] = value
        elif key in ("source", "src"):
            m["Source"] = absolute_bind(value + ":")[:-1] if value.startswith(".") else value
        elif key in ("target", "dst", "destination"):
            m["Target"] = value
        elif key == "bind-propagation":
            extra.setdefault("BindOptions", {})["Propagation"] = value
        elif key == "volume-nocopy":
            extra.setdefault("VolumeOptions", {})["NoCopy"] = value.lower() in ("1", "true")
        elif key == "volume-opt":
            k, _, v = value.partition("=")
            opts = extra.setdefault("VolumeOptions", {}).setdefault("DriverConfig", {})
            opts.setdefault("Options", {})[k] = v
        elif key == "tmpfs-size":
            from cove.cli.units import ram_in_bytes

            extra.setdefault("TmpfsOptions", {})["SizeBytes"] = ram_in_bytes(value)
        elif key == "tmpfs-mode":
            extra.setdefault("TmpfsOptions", {})["Mode"] = int(value, 8)
        elif key != "consistency":
            raise ValueError(f"unexpected key '{key}' in '{field}'")
    if "Target" not in m:
        raise ValueError("target is required")
    return {**m, **extra}


def read_kv_file(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise ValueError(f"open {path}: {e.strerror.lower() if e.strerror else e}") from None
    return [ln.lstrip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def env_list(files: list[str], values: list[str]) -> list[str]:
    """``--env-file`` lines then ``-e`` values; a bare NAME takes our environment's value."""
    out = []
    for item in [line for f in files for line in read_kv_file(f)] + values:
        name, eq, _ = item.partition("=")
        if not eq and name in os.environ:
            out.append(f"{name}={os.environ[name]}")
        else:
            out.append(item)
    return out


def label_map(files: list[str], values: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in [line for f in files for line in read_kv_file(f)] + values:
        k, _, v = item.partition("=")
        labels[k] = v
    return labels


def restart_policy(text: str) -> dict[str, Any]:
    name, colon, count = text.partition(":")
    if colon:
        if name != "on-failure":
            raise ValueError("invalid restart policy format: maximum retry count can only be "
                             "used with 'on-failure'")  # fmt: skip
        try:
            n = int(count)
        except ValueError:
            raise ValueError("invalid restart policy format: maximum retry count must be an "
                             "integer")  # fmt: skip
        return {"Name": name, "MaximumRetryCount": n}
    return {"Name": name or "no", "MaximumRetryCount": 0}


def capabilities(values: list[str]) -> list[str] | None:
    """Docker 28 sends capabilities in their canonical ``CAP_X`` spelling."""
    if not values:
        return None
    out = []
    for v in values:
        u = v.upper()
        out.append(u if u == "ALL" or u.startswith("CAP_") else "CAP_" + u)
    return out


def kv_map(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        k, _, val = v.partition("=")
        out[k] = val
    return out
