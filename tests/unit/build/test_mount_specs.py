"""RUN --mount and --network values, read as BuildKit reads them (pure)."""

from __future__ import annotations

import pytest

from cove.build.backend import BuildError
from cove.build.mounts import parse_mount, parse_network, parse_size


def test_cache_defaults_and_fields() -> None:
    m = parse_mount("type=cache,target=/root/.cache,sharing=locked,mode=0700,uid=10,gid=20")
    assert (m.type, m.id, m.sharing, m.mode, m.uid, m.gid) == (
        "cache", "/root/.cache", "locked", 0o700, 10, 20,
    )  # fmt: skip
    assert m.writable
    assert "uid" not in m.key_text()


def test_bind_is_read_only_unless_rw() -> None:
    assert not parse_mount("target=/src").writable
    assert parse_mount("type=bind,target=/src,rw").writable
    assert parse_mount("type=bind,dst=/src,from=build,src=/out").src_from == "build"


def test_secret_and_ssh_defaults() -> None:
    s = parse_mount("type=secret,id=npmrc")
    assert s.target == "/run/secrets/npmrc" and not s.required
    s = parse_mount("type=secret,target=/etc/token,required")
    assert s.id == "token" and s.required
    s = parse_mount("type=secret,id=tok,env=TOKEN")
    assert s.env == "TOKEN" and s.target == ""
    assert "tok" in s.key_text()
    assert parse_mount("type=ssh", 1).target == "/run/buildkit/ssh_agent.1"


def test_errors_in_buildkit_words() -> None:
    with pytest.raises(BuildError, match="unexpected key 'color'"):
        parse_mount("type=cache,target=/x,color=red")
    with pytest.raises(BuildError, match="unsupported mount type 'nfs'"):
        parse_mount("type=nfs,target=/x")
    with pytest.raises(BuildError, match="mount destination not specified"):
        parse_mount("type=cache")
    with pytest.raises(BuildError, match="unsupported sharing"):
        parse_mount("type=cache,target=/x,sharing=sometimes")
    with pytest.raises(BuildError, match="unsupported network mode"):
        parse_network("bridge")


def test_sizes() -> None:
    assert parse_size("1m") == 1 << 20
    assert parse_size("512") == 512
    assert parse_size("2GiB") == 2 << 30
    assert parse_mount("type=tmpfs,target=/t,size=64k").size == 64 << 10
