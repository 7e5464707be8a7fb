"""Request bodies are checked by type before any work, in Go's words, with 400."""

from __future__ import annotations

import json

import pytest

from .conftest import ServerThread
from .rawhttp import RawHttp

GO = "json: cannot unmarshal"


def _post(api: ServerThread, path: str, body: bytes) -> tuple[int, str]:
    r = RawHttp(api.connect()).request(
        "POST", path, body=body, headers={"Content-Type": "application/json"}
    )
    return r.status, json.loads(r.body)["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '{"Image": 5}',
            f"{GO} number into Go struct field ContainerConfigWrapper.Image of type string",
        ),
        (
            '{"Image": "busybox", "Env": "A=1"}',
            f"{GO} string into Go struct field ContainerConfigWrapper.Env of type []string",
        ),
        (
            '{"Image": "busybox", "HostConfig": {"Memory": 1e40}}',
            f"{GO} number 1e40 into Go struct field HostConfig.HostConfig.Memory of type int64",
        ),
        (
            '{"Image": "busybox", "HostConfig": {"Memory": 9223372036854775808}}',
            f"{GO} number 9223372036854775808 into Go struct field HostConfig.HostConfig.Memory"
            " of type int64",
        ),
        (
            '{"Image": "busybox", "HostConfig": {"CpuShares": 1000.0}}',
            f"{GO} number 1000.0 into Go struct field HostConfig.HostConfig.CpuShares"
            " of type int64",
        ),
        (
            '{"Image": "busybox", "Cmd": [1]}',
            f"{GO} array into Go struct field ContainerConfigWrapper.Cmd of type string",
        ),
        (
            '{"Image": "busybox", "Labels": {"a": 1}}',
            f"{GO} number into Go struct field ContainerConfigWrapper.Labels of type string",
        ),
        (
            '{"Image": "busybox", "Tty": "yes"}',
            f"{GO} string into Go struct field ContainerConfigWrapper.Tty of type bool",
        ),
        (
            '{"Image": "busybox", "NetworkingConfig": {"EndpointsConfig": 5}}',
            f"{GO} number into Go struct field NetworkingConfig.NetworkingConfig.EndpointsConfig"
            " of type map[string]*network.EndpointSettings",
        ),
        ("[1]", f"{GO} array into Go value of type runconfig.ContainerConfigWrapper"),
        ("[" * 20000 + "]" * 20000, "invalid character '[' exceeded max depth"),
        ('{"Image": "busybox", "Labels": ' + '{"a":' * 600 + "1" + "}" * 601, "max depth"),
        ('{"Image": NaN}', "invalid character"),
    ],
)
def test_container_create_bodies(api: ServerThread, body: str, message: str) -> None:
    status, text = _post(api, "/v1.44/containers/create", body.encode())
    assert status == 400
    assert message in text


def test_other_routes_are_typed(api: ServerThread) -> None:
    status, text = _post(api, "/v1.44/volumes/create", b'{"Name": 5}')
    assert (status, text) == (
        400,
        f"{GO} number into Go struct field VolumeCreateBody.Name of type string",
    )
    status, text = _post(api, "/v1.44/volumes/create", json.dumps({"Name": "a" * 10000}).encode())
    assert status == 400 and "longer than 255" in text
    status, text = _post(api, "/v1.44/networks/create", b'{"Name": 5}')
    assert status == 400 and "NetworkCreateRequest.Name of type string" in text
    long_bridge = {"Name": "n", "Options": {"com.docker.network.bridge.name": "b" * 25}}
    status, text = _post(api, "/v1.44/networks/create", json.dumps(long_bridge).encode())
    assert status == 400 and "bridge name" in text
    status, text = _post(api, "/v1.44/containers/x/exec", b'{"Cmd": "ls"}')
    assert (status, text) == (
        400,
        f"{GO} string into Go struct field ExecConfig.Cmd of type []string",
    )
    for path, body, words in (
        ("/containers/create", {"Image": "b", "Hostname": "h" * 65}, "hostname"),
        ("/containers/create", {"Image": "b", "WorkingDir": "/" + "w" * 5000}, "working dir"),
        ("/containers/x/exec", {"Cmd": ["true"], "WorkingDir": "/" + "w" * 5000}, "working dir"),
        ("/volumes/create", {"Name": "v", "DriverOpts": {"o": "o" * 5000}}, "mount options"),
    ):
        status, text = _post(api, "/v1.44" + path, json.dumps(body).encode())
        assert status == 400 and words in text and "longer than" in text, text
    status, text = _post(api, "/v1.44/containers/x/update", b'{"BlkioWeight": 70000}')
    assert status == 400 and "number 70000" in text and "uint16" in text


def test_unexpected_failure_is_a_500_without_traceback(api: ServerThread) -> None:
    def boom(*_args: object) -> None:
        raise KeyError("surprise")

    api.engine.volume_list = boom  # type: ignore[method-assign,assignment]
    r = RawHttp(api.connect()).request("GET", "/v1.44/volumes")
    assert r.status == 500
    assert b"Traceback" not in r.body and b"surprise" in r.body


def test_deep_or_non_json_filters_are_400(api: ServerThread) -> None:
    deep = "[" * 20000 + "]" * 20000
    r = RawHttp(api.connect()).request("GET", f"/v1.44/containers/json?filters={deep}")
    assert r.status == 400 and b"exceeded max depth" in r.body
    r = RawHttp(api.connect()).request("GET", "/v1.44/containers/json?filters=NaN")
    assert r.status == 400 and b"invalid filter" in r.body
    for name in ("buildargs", "labels", "cachefrom"):
        r = RawHttp(api.connect()).request("POST", f"/v1.44/build?{name}={deep}", body=b"")
        assert r.status == 400, (name, r.body)


def test_registry_auth_header_nested_too_deep_is_invalid_argument() -> None:
    import base64

    from cove.distribution.registry.auth import decode_registry_auth
    from cove.errors import InvalidArgument

    header = base64.urlsafe_b64encode(b"[" * 20000 + b"]" * 20000).decode()
    with pytest.raises(InvalidArgument, match="X-Registry-Auth"):
        decode_registry_auth(header)


def test_unicode_digits_are_not_numbers(api: ServerThread) -> None:
    """str.isdigit() takes "³"; int() does not: found by the fuzz stage as a 500 on kill."""
    from cove.engine.containers.signals import parse_signal
    from cove.errors import InvalidArgument

    with pytest.raises(InvalidArgument):
        parse_signal("\u00b3")
    sock = api.connect()
    sock.sendall("POST /v1.44/volumes/create HTTP/1.1\r\nContent-Length: \u00b3\r\n\r\n".encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 400")
