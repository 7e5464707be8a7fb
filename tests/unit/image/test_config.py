from __future__ import annotations

import re
from typing import Any

import pytest

from cove.errors import InvalidArgument
from cove.image.config import (
    apply_changes,
    empty_container_config,
    goarch,
    import_config,
    rfc3339_nano,
)

D = "sha256:" + "a" * 64


def _apply(*changes: str, base: dict[str, Any] | None = None) -> dict[str, Any]:
    return apply_changes(base or empty_container_config(), list(changes))


def test_goarch_and_time() -> None:
    assert goarch("x86_64") == "amd64" and goarch("aarch64") == "arm64"
    assert goarch("armv7l") == "arm" and goarch("i686") == "386"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", rfc3339_nano())
    assert rfc3339_nano(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert rfc3339_nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"


def test_import_config_shape() -> None:
    c = import_config([D], created="2024-01-01T00:00:00Z")
    assert c["os"] == "linux" and c["architecture"] == goarch()
    assert c["rootfs"] == {"type": "layers", "diff_ids": [D]}
    assert c["history"] == [{"created": "2024-01-01T00:00:00Z", "comment": "Imported from -"}]
    assert c["comment"] == "Imported from -"
    assert c["config"]["Cmd"] is None and "author" not in c
    c = import_config([D], message="hi", author="me", changes=["CMD echo"], source="http://x")
    assert c["comment"] == "hi" and c["author"] == "me"
    assert c["config"]["Cmd"] == ["/bin/sh", "-c", "echo"]
    assert import_config([D], source="http://h/r.tar")["comment"] == "Imported from http://h/r.tar"


def test_cmd_and_entrypoint() -> None:
    assert _apply('CMD ["sh", "-c", "x"]')["Cmd"] == ["sh", "-c", "x"]
    assert _apply("CMD echo hi there")["Cmd"] == ["/bin/sh", "-c", "echo hi there"]
    assert _apply("cmd [not json")["Cmd"] == ["/bin/sh", "-c", "[not json"]
    c = _apply('ENTRYPOINT ["/init"]', base={"Cmd": ["old"]})
    assert c["Entrypoint"] == ["/init"] and c["Cmd"] is None  # as Docker: reset unless set
    c = _apply("CMD x", "ENTRYPOINT top -b", base={"Cmd": ["old"]})
    assert c["Cmd"] == ["/bin/sh", "-c", "x"] and c["Entrypoint"] == ["/bin/sh", "-c", "top -b"]


def test_env() -> None:
    c = _apply("ENV A=1 B=\"two words\" C='$A'", "ENV D the rest of it", "ENV E=$A-${B}")
    assert c["Env"] == ["A=1", "B=two words", "C=$A", "D=the rest of it", "E=1-two words"]
    c = _apply("ENV PATH=$PATH:/x", base={"Env": ["PATH=/bin"]})
    assert c["Env"] == ["PATH=/bin:/x"]
    assert _apply("ENV X=${NOPE:-dflt}")["Env"] == ["X=dflt"]
    assert _apply("ENV X=a\\ b")["Env"] == ["X=a b"]
    for bad in ("ENV", "ENV onlyname", "ENV =v"):
        with pytest.raises(InvalidArgument):
            _apply(bad)


def test_expose_label_volume_workdir_user_signal_onbuild() -> None:
    c = _apply(
        "EXPOSE 80 53/udp 8000-8002",
        'LABEL a=b "c d"=e',
        'VOLUME ["/data", "/logs"]',
        "VOLUME /x /y",
        "WORKDIR /srv",
        "WORKDIR app",
        "USER nobody:nogroup",
        "STOPSIGNAL SIGKILL",
        "ONBUILD RUN make",
        "# a comment",
    )
    assert c["ExposedPorts"] == {
        "80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {},
    }  # fmt: skip
    assert c["Labels"] == {"a": "b", "c d": "e"}
    assert c["Volumes"] == {"/data": {}, "/logs": {}, "/x": {}, "/y": {}}
    assert c["WorkingDir"] == "/srv/app"
    assert c["User"] == "nobody:nogroup"
    assert c["StopSignal"] == "SIGKILL"
    assert c["OnBuild"] == ["RUN make"]


def test_healthcheck() -> None:
    c = _apply("HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://x/")
    assert c["Healthcheck"] == {
        "Interval": 5_000_000_000, "Retries": 3, "Test": ["CMD-SHELL", "curl -f http://x/"],
    }  # fmt: skip
    assert _apply('HEALTHCHECK CMD ["true"]')["Healthcheck"] == {"Test": ["CMD", "true"]}
    assert _apply("HEALTHCHECK NONE")["Healthcheck"] == {"Test": ["NONE"]}
    with pytest.raises(InvalidArgument):
        _apply("HEALTHCHECK --interval=5x CMD true")


def test_invalid_changes() -> None:
    with pytest.raises(InvalidArgument, match=r"^run is not a valid change command$"):
        _apply("RUN echo")
    for bad in ("FROM x", "COPY a b", "ADD a b", "MAINTAINER me", "ARG x"):
        with pytest.raises(InvalidArgument, match="is not a valid change command"):
            _apply(bad)
    for bad in ("EXPOSE 99999", "EXPOSE 80/icmp", "VOLUME [\"\"]", "ONBUILD FROM x",
                "STOPSIGNAL !!", "ENV A=\"unterminated"):  # fmt: skip
        with pytest.raises(InvalidArgument):
            _apply(bad)


def test_apply_does_not_touch_its_input() -> None:
    base = {"Env": ["A=1"], "Labels": {"x": "y"}}
    _apply("ENV B=2", "LABEL z=w", base=base)
    assert base == {"Env": ["A=1"], "Labels": {"x": "y"}}
