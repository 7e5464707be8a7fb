"""The CLI side of -v/--mount: relative bind sources become absolute, as docker's CLI does."""

from __future__ import annotations

import os

from cove.cli import runparse


def test_absolute_bind() -> None:
    assert runparse.absolute_bind("./d:/x:ro") == os.path.abspath("d") + ":/x:ro"
    assert runparse.absolute_bind("..:/x") == os.path.abspath("..") + ":/x"
    assert runparse.absolute_bind("name:/x") == "name:/x"
    assert runparse.absolute_bind("/abs:/x") == "/abs:/x"


def test_mount_source() -> None:
    m = runparse.parse_mount("type=bind,src=./here,dst=/x,readonly")
    assert m == {"Type": "bind", "Source": os.path.abspath("here"), "Target": "/x",
                 "ReadOnly": True}  # fmt: skip
    m = runparse.parse_mount("type=volume,target=/v,volume-nocopy,volume-opt=type=tmpfs")
    assert m["VolumeOptions"]["NoCopy"] is True
    assert m["VolumeOptions"]["DriverConfig"]["Options"] == {"type": "tmpfs"}
