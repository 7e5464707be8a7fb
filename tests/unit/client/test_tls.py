"""The client's TLS settings, read as the docker CLI reads them."""

from __future__ import annotations

import os

import pytest

from cove.client.tls import parse_tcp, tls_options


def test_parse_tcp() -> None:
    assert parse_tcp("tcp://127.0.0.1:2376") == ("127.0.0.1", 2376)
    assert parse_tcp("tcp://host") == ("host", 2375)
    assert parse_tcp("tcp://[::1]:2376") == ("::1", 2376)
    with pytest.raises(ValueError):
        parse_tcp("tcp://:x")


def test_options(tmp_path: object) -> None:
    base = str(tmp_path)
    env = {"DOCKER_CERT_PATH": base}
    assert tls_options({}, env) is None
    assert tls_options({"tls": False}, env) is None
    # --tls: no server check, and a default client certificate only when it exists
    o = tls_options({"tls": True}, env)
    assert o is not None and not o.verify and o.cert == "" and o.ca == os.path.join(base, "ca.pem")
    for name in ("cert.pem", "key.pem"):
        open(os.path.join(base, name), "w").close()
    o = tls_options({}, {**env, "DOCKER_TLS_VERIFY": "1"})
    assert o is not None and o.verify and o.cert == os.path.join(base, "cert.pem")
    # any --tlsverify turns TLS on; the flag beats the environment
    o = tls_options({"tlsverify": False}, {**env, "DOCKER_TLS_VERIFY": "1"})
    assert o is not None and not o.verify
    o = tls_options({"tlsverify": True, "tlscacert": "/x/ca.pem"}, {})
    assert o is not None and o.ca == "/x/ca.pem"
