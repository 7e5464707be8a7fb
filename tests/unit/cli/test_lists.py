"""ps, images and history rows; run's exit-code mapping; logs timestamps."""

from __future__ import annotations

from cove.cli.history import row as history_row
from cove.cli.images import name_rows
from cove.cli.logs import api_timestamp
from cove.cli.ps import display_ports, parse_filters
from cove.cli.ps import row as ps_row
from cove.cli.run import start_exit_code

CONTAINER = {
    "Id": "67c7dc165792703f7c88333ca359fc38143f68854c90633929d7baacd31776bc",
    "Names": ["/w2", "/other/link"],
    "Image": "busybox",
    "ImageID": "sha256:a2d86f37d503cc5425232b84ac37ec4a2c098a3e904366ae1205d6aa42cdef08",
    "Command": "sh -c 'echo \"quoted thing\"; sleep 1000'",
    "Created": 1000,
    "Ports": [],
    "Labels": {"x": "y", "a": "b"},
    "State": "running",
    "Status": "Up 3 seconds",
    "SizeRw": 0,
    "SizeRootFs": 1982256,
}


def test_ps_row() -> None:
    r = ps_row(CONTAINER, True, 1000 + 120)
    assert r["ID"] == "67c7dc165792"
    assert r["Command"] == '"sh -c \'echo \\"quoted…"'
    assert r["RunningFor"] == "2 minutes ago"
    assert r["Names"] == "w2"
    assert r["Labels"] == "a=b,x=y" and r["Label"]("x") == "y"
    assert r["Size"] == "0B (virtual 1.98MB)"
    full = ps_row(CONTAINER, False, 1000)
    assert full["ID"] == CONTAINER["Id"] and full["Names"] == "w2,other/link"


def test_ps_image_by_id_is_truncated() -> None:
    c = dict(CONTAINER, Image=CONTAINER["ImageID"])
    assert ps_row(c, True, 1000)["Image"] == "a2d86f37d503"


def test_ports() -> None:
    ports = [
        {"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp", "IP": "0.0.0.0"},
        {"PrivatePort": 53, "Type": "udp"},
        {"PrivatePort": 81, "Type": "tcp"},
        {"PrivatePort": 82, "Type": "tcp"},
        {"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp", "IP": "::"},
    ]
    assert display_ports(ports) == (
        "53/udp, 81-82/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"
    )  # fmt: skip
    assert display_ports([{"PrivatePort": 80, "PublicPort": 80, "Type": "tcp", "IP": "0.0.0.0"}])\
        == "0.0.0.0:80->80/tcp"  # fmt: skip


def test_filters() -> None:
    assert parse_filters([]) is None
    assert parse_filters(["status=exited", "name=a", "name=b"]) == (
        '{"status":{"exited":true},"name":{"a":true,"b":true}}'
    )  # fmt: skip


def test_image_rows() -> None:
    image = {"RepoTags": ["busybox:latest", "localhost:5000/x/y:1"], "RepoDigests": None}
    assert name_rows(image, False) == [
        ("busybox", "latest", "<none>"),
        ("localhost:5000/x/y", "1", "<none>"),
    ]
    dangling = {"RepoTags": ["<none>:<none>"], "RepoDigests": ["<none>@<none>"]}
    assert name_rows(dangling, True) == [("<none>", "<none>", "<none>")]
    pulled = {"RepoTags": [], "RepoDigests": ["busybox@sha256:abc"]}
    assert name_rows(pulled, True) == [("busybox", "<none>", "sha256:abc")]
    assert name_rows(pulled, False) == [("busybox", "<none>", "<none>")]


def test_history_row() -> None:
    h = {"Id": "sha256:" + "b" * 64, "Created": 0, "CreatedBy": "/bin/sh -c\t" + "x" * 60,
         "Size": 1984132, "Comment": "Imported from -", "Tags": None}  # fmt: skip
    r = history_row(h, True, True, 3600 * 24 * 3)
    assert r["ID"] == "b" * 12 and r["Size"] == "1.98MB" and r["CreatedSince"] == "3 days ago"
    assert len(r["CreatedBy"]) == 45 and r["CreatedBy"].endswith("…")
    assert history_row({"Id": "<missing>"}, False, True, 0)["Size"] == "0"


def test_start_exit_codes() -> None:
    assert start_exit_code('exec: "x": executable file not found in $PATH') == 127
    assert start_exit_code("stat /etc/passwd: no such file or directory") == 127
    assert start_exit_code('exec: "/bin": permission denied') == 126
    assert start_exit_code("something else") == 125


def test_log_timestamps() -> None:
    assert api_timestamp("42m", now=10_000.0) == str(10_000 - 42 * 60)
    assert api_timestamp("2013-01-02T13:23:37Z") == "1357133017.000000000"
    assert api_timestamp("1357133017.5") == "1357133017.5"
