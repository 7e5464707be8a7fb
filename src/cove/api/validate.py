"""Request bodies checked by type at the API's edge, before any work, as dockerd's Go
decoder checks them.

dockerd unmarshals a body into Go structs; a value of the wrong JSON type, or a number that
does not fit the field's integer type (``1e40``, ``1.5`` or ``-1`` where an ``int64`` or a
``uint16`` goes), fails the request with ``json: cannot unmarshal <what> into Go struct field
<Struct>.<path> of type <type>``.  The structures below are the Engine API's (the Go types
of moby's ``api/types``, the field names of its swagger description) for the routes that take
a JSON body; :mod:`cove.api.validate_types` holds the small type language.  Unknown fields
are ignored and ``null`` is every type's zero value, as in Go; field names match without
regard to case, as Go's decoder matches them.  The route tables say which body each route
takes; the server checks it when the handler reads the body.
"""

from __future__ import annotations

from cove.api.validate_types import (
    BOOL,
    INT,
    INT64,
    STRING,
    STRINGS,
    STRMAP,
    UINT,
    UINT16,
    UINT32,
    UINT64,
    AnyValue,
    Kind,
    ListOf,
    MapOf,
    Str,
    StrSlice,
    Struct,
    check_body,
)

__all__ = ["BODY_TYPES", "body_type", "check_body"]

_EMPTY_STRUCT = Struct("struct {}", {})
_PORT_SET = MapOf(_EMPTY_STRUCT, "nat.PortSet")

HEALTH = Struct(
    "HealthConfig",
    {
        "Test": STRINGS,
        "Interval": INT64,
        "Timeout": INT64,
        "StartPeriod": INT64,
        "StartInterval": INT64,
        "Retries": INT,
    },
    go="*container.HealthConfig",
)

# Names the kernel takes with a fixed limit: caught here as 400s, not as a runtime failure
# at start (a 500): HOST_NAME_MAX, the longest domain name, PATH_MAX less its NUL.
CONFIG_FIELDS: dict[str, Kind] = {
    "Hostname": Str(max_len=64, what="hostname"),
    "Domainname": Str(max_len=253, what="domain name"),
    "User": STRING,
    "AttachStdin": BOOL,
    "AttachStdout": BOOL,
    "AttachStderr": BOOL,
    "ExposedPorts": _PORT_SET,
    "Tty": BOOL,
    "OpenStdin": BOOL,
    "StdinOnce": BOOL,
    "Env": STRINGS,
    "Cmd": StrSlice(),
    "Healthcheck": HEALTH,
    "ArgsEscaped": BOOL,
    "Image": STRING,
    "Volumes": MapOf(_EMPTY_STRUCT, "map[string]struct {}"),
    "WorkingDir": Str(max_len=4095, what="working directory"),
    "Entrypoint": StrSlice(),
    "NetworkDisabled": BOOL,
    "MacAddress": STRING,
    "OnBuild": STRINGS,
    "Labels": STRMAP,
    "StopSignal": STRING,
    "StopTimeout": INT,
    "Shell": StrSlice(),
}


def _throttle() -> Kind:
    return ListOf(
        Struct("ThrottleDevice", {"Path": STRING, "Rate": UINT64}),
        "[]*blkiodev.ThrottleDevice",
    )


RESOURCES: dict[str, Kind] = {
    "CpuShares": INT64,
    "Memory": INT64,
    "NanoCpus": INT64,
    "CgroupParent": STRING,
    "BlkioWeight": UINT16,
    "BlkioWeightDevice": ListOf(
        Struct("WeightDevice", {"Path": STRING, "Weight": UINT16}), "[]*blkiodev.WeightDevice"
    ),
    "BlkioDeviceReadBps": _throttle(),
    "BlkioDeviceWriteBps": _throttle(),
    "BlkioDeviceReadIOps": _throttle(),
    "BlkioDeviceWriteIOps": _throttle(),
    "CpuPeriod": INT64,
    "CpuQuota": INT64,
    "CpuRealtimePeriod": INT64,
    "CpuRealtimeRuntime": INT64,
    "CpusetCpus": STRING,
    "CpusetMems": STRING,
    "Devices": ListOf(
        Struct(
            "DeviceMapping",
            {"PathOnHost": STRING, "PathInContainer": STRING, "CgroupPermissions": STRING},
        ),
        "[]container.DeviceMapping",
    ),
    "DeviceCgroupRules": STRINGS,
    "DeviceRequests": ListOf(
        Struct(
            "DeviceRequest",
            {
                "Driver": STRING,
                "Count": INT,
                "DeviceIDs": STRINGS,
                "Capabilities": ListOf(STRINGS, "[][]string"),
                "Options": STRMAP,
            },
        ),
        "[]container.DeviceRequest",
    ),
    "KernelMemory": INT64,
    "KernelMemoryTCP": INT64,
    "MemoryReservation": INT64,
    "MemorySwap": INT64,
    "MemorySwappiness": INT64,
    "OomKillDisable": BOOL,
    "PidsLimit": INT64,
    "Ulimits": ListOf(
        Struct("Ulimit", {"Name": STRING, "Hard": INT64, "Soft": INT64}), "[]*units.Ulimit"
    ),
    "CpuCount": INT64,
    "CpuPercent": INT64,
    "IOMaximumIOps": UINT64,
    "IOMaximumBandwidth": UINT64,
}

RESTART = Struct(
    "RestartPolicy", {"Name": STRING, "MaximumRetryCount": INT}, go="container.RestartPolicy"
)

MOUNT = Struct(
    "Mount",
    {
        "Type": STRING,
        "Source": STRING,
        "Target": STRING,
        "ReadOnly": BOOL,
        "Consistency": STRING,
        "BindOptions": Struct(
            "BindOptions",
            {
                "Propagation": STRING,
                "NonRecursive": BOOL,
                "CreateMountpoint": BOOL,
                "ReadOnlyNonRecursive": BOOL,
                "ReadOnlyForceRecursive": BOOL,
            },
        ),
        "VolumeOptions": Struct(
            "VolumeOptions",
            {
                "NoCopy": BOOL,
                "Labels": STRMAP,
                "DriverConfig": Struct("Driver", {"Name": STRING, "Options": STRMAP}),
            },
        ),
        "TmpfsOptions": Struct("TmpfsOptions", {"SizeBytes": INT64, "Mode": UINT32}),
    },
)

HOST_CONFIG = Struct(
    "HostConfig",
    {
        **RESOURCES,
        "Binds": STRINGS,
        "ContainerIDFile": STRING,
        "LogConfig": Struct("LogConfig", {"Type": STRING, "Config": STRMAP}),
        "NetworkMode": STRING,
        "PortBindings": MapOf(
            ListOf(Struct("PortBinding", {"HostIp": STRING, "HostPort": STRING})),
            "nat.PortMap",
        ),
        "RestartPolicy": RESTART,
        "AutoRemove": BOOL,
        "VolumeDriver": STRING,
        "VolumesFrom": STRINGS,
        "ConsoleSize": ListOf(UINT, "[2]uint"),
        "Annotations": STRMAP,
        "CapAdd": StrSlice(),
        "CapDrop": StrSlice(),
        "CgroupnsMode": STRING,
        "Dns": STRINGS,
        "DnsOptions": STRINGS,
        "DnsSearch": STRINGS,
        "ExtraHosts": STRINGS,
        "GroupAdd": STRINGS,
        "IpcMode": STRING,
        "Cgroup": STRING,
        "Links": STRINGS,
        "OomScoreAdj": INT,
        "PidMode": STRING,
        "Privileged": BOOL,
        "PublishAllPorts": BOOL,
        "ReadonlyRootfs": BOOL,
        "SecurityOpt": STRINGS,
        "StorageOpt": STRMAP,
        "Tmpfs": STRMAP,
        "UTSMode": STRING,
        "UsernsMode": STRING,
        "ShmSize": INT64,
        "Sysctls": STRMAP,
        "Runtime": STRING,
        "Isolation": STRING,
        "Mounts": ListOf(MOUNT, "[]mount.Mount"),
        "MaskedPaths": STRINGS,
        "ReadonlyPaths": STRINGS,
        "Init": BOOL,
    },
    go="*container.HostConfig",
)

ENDPOINT = Struct(
    "EndpointSettings",
    {
        "IPAMConfig": Struct(
            "EndpointIPAMConfig",
            {"IPv4Address": STRING, "IPv6Address": STRING, "LinkLocalIPs": STRINGS},
        ),
        "Links": STRINGS,
        "Aliases": STRINGS,
        "MacAddress": STRING,
        "DriverOpts": STRMAP,
        "NetworkID": STRING,
        "EndpointID": STRING,
        "Gateway": STRING,
        "IPAddress": STRING,
        "IPPrefixLen": INT,
        "IPv6Gateway": STRING,
        "GlobalIPv6Address": STRING,
        "GlobalIPv6PrefixLen": INT,
        "DNSNames": STRINGS,
    },
    go="*network.EndpointSettings",
)

NETWORKING = Struct(
    "NetworkingConfig",
    {"EndpointsConfig": MapOf(ENDPOINT, "map[string]*network.EndpointSettings")},
    go="*network.NetworkingConfig",
)

CONTAINER_CREATE = Struct(
    "ContainerConfigWrapper",
    {**CONFIG_FIELDS, "HostConfig": HOST_CONFIG, "NetworkingConfig": NETWORKING},
    go="runconfig.ContainerConfigWrapper",
)

CONTAINER_UPDATE = Struct(
    "UpdateConfig", {**RESOURCES, "RestartPolicy": RESTART}, go="container.UpdateConfig"
)

COMMIT = Struct("Config", CONFIG_FIELDS, go="container.Config")

EXEC_CREATE = Struct(
    "ExecConfig",
    {
        "User": STRING,
        "Privileged": BOOL,
        "Tty": BOOL,
        "ConsoleSize": ListOf(UINT, "*[2]uint"),
        "AttachStdin": BOOL,
        "AttachStderr": BOOL,
        "AttachStdout": BOOL,
        "Detach": BOOL,
        "DetachKeys": STRING,
        "Env": STRINGS,
        "WorkingDir": Str(max_len=4095, what="working directory"),
        "Cmd": STRINGS,
    },
    go="types.ExecConfig",
)

EXEC_START = Struct(
    "ExecStartCheck",
    {"Detach": BOOL, "Tty": BOOL, "ConsoleSize": ListOf(UINT, "*[2]uint")},
    go="types.ExecStartCheck",
)

# A network's name becomes part of file and interface names; a bridge's interface name
# is at most 15 bytes (IFNAMSIZ - 1), which the kernel would refuse with ERANGE.
NETWORK_CREATE = Struct(
    "NetworkCreateRequest",
    {
        "Name": Str(max_len=255, what="network name"),
        "CheckDuplicate": BOOL,
        "Driver": STRING,
        "Scope": STRING,
        "EnableIPv6": BOOL,
        "IPAM": Struct(
            "IPAM",
            {
                "Driver": STRING,
                "Config": ListOf(
                    Struct(
                        "IPAMConfig",
                        {
                            "Subnet": STRING,
                            "IPRange": STRING,
                            "Gateway": STRING,
                            "AuxiliaryAddresses": STRMAP,
                        },
                    ),
                    "[]network.IPAMConfig",
                ),
                "Options": STRMAP,
            },
            go="*network.IPAM",
        ),
        "Internal": BOOL,
        "Attachable": BOOL,
        "Ingress": BOOL,
        "ConfigOnly": BOOL,
        "ConfigFrom": Struct("ConfigReference", {"Network": STRING}),
        "Options": MapOf(
            STRING,
            "map[string]string",
            limits={"com.docker.network.bridge.name": (15, "bridge name")},
        ),
        "Labels": STRMAP,
    },
    go="types.NetworkCreateRequest",
)

NETWORK_CONNECT = Struct(
    "NetworkConnect",
    {"Container": STRING, "EndpointConfig": ENDPOINT},
    go="types.NetworkConnect",
)

NETWORK_DISCONNECT = Struct(
    "NetworkDisconnect", {"Container": STRING, "Force": BOOL}, go="types.NetworkDisconnect"
)

# a local volume's name is a directory name: at most NAME_MAX bytes
VOLUME_CREATE = Struct(
    "VolumeCreateBody",
    {
        "Name": Str(max_len=255, what="volume name"),
        "Driver": STRING,
        # the local driver's mount(2) data is at most a page
        "DriverOpts": MapOf(
            STRING,
            "map[string]string",
            limits={"o": (4095, "mount options"), "device": (4095, "device")},
        ),
        "Labels": STRMAP,
        "ClusterVolumeSpec": AnyValue(),
    },
    go="volume.VolumeCreateBody",
)

AUTH = Struct(
    "AuthConfig",
    {
        "username": STRING,
        "password": STRING,
        "auth": STRING,
        "email": STRING,
        "serveraddress": STRING,
        "identitytoken": STRING,
        "registrytoken": STRING,
    },
    go="registry.AuthConfig",
)

# (method, route pattern) -> the body's structure
BODY_TYPES: dict[tuple[str, str], Struct] = {
    ("POST", "/containers/create"): CONTAINER_CREATE,
    ("POST", "/containers/{id}/update"): CONTAINER_UPDATE,
    ("POST", "/containers/{id}/exec"): EXEC_CREATE,
    ("POST", "/exec/{id}/start"): EXEC_START,
    ("POST", "/commit"): COMMIT,
    ("POST", "/networks/create"): NETWORK_CREATE,
    ("POST", "/networks/{id}/connect"): NETWORK_CONNECT,
    ("POST", "/networks/{id}/disconnect"): NETWORK_DISCONNECT,
    ("POST", "/volumes/create"): VOLUME_CREATE,
    ("POST", "/auth"): AUTH,
}


def body_type(method: str, pattern: str) -> Struct | None:
    return BODY_TYPES.get((method, pattern))
