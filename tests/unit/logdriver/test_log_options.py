"""LogConfig checks and plans: Docker's refusals in its words, cove's default caps."""

from __future__ import annotations

import pytest

from cove.errors import InvalidArgument
from cove.logdriver import options
from cove.logdriver.options import DEFAULT_MAX_FILE, DEFAULT_MAX_SIZE


def plan(driver: str, **opts: str) -> options.LogPlan:
    config = {k.replace("_", "-"): v for k, v in opts.items()}
    return options.plan({"Type": driver, "Config": config})


def test_default_is_capped() -> None:
    p = options.plan({})
    assert (p.driver, p.max_size, p.max_file, p.compress) == (
        "json-file", DEFAULT_MAX_SIZE, DEFAULT_MAX_FILE, False,
    )  # fmt: skip


def test_sizes_and_files() -> None:
    p = plan("json-file", max_size="10m", max_file="2", compress="true")
    assert (p.max_size, p.max_file, p.compress) == (10 << 20, 2, True)
    assert plan("json-file", max_size="1.5k").max_size == 1536
    assert plan("json-file", max_size="200").max_size == 200
    assert plan("json-file", max_size="0").max_size == DEFAULT_MAX_SIZE  # never unbounded


def test_local_compresses_by_default() -> None:
    p = plan("local")
    assert (p.max_size, p.max_file, p.compress) == (20 << 20, 5, True)
    assert plan("local", compress="false").compress is False


@pytest.mark.parametrize(
    ("driver", "opts", "message"),
    [
        ("json-file", {"foo": "1"}, "unknown log opt 'foo' for json-file log driver"),
        ("local", {"labels": "x"}, "unknown log opt 'labels' for log driver local"),
        ("syslog", {"foo": "1"}, "unknown log opt 'foo' for syslog log driver"),
        ("bogus", {}, 'error looking up logging plugin bogus: plugin "bogus" not found'),
        ("json-file", {"max-size": "abc"}, "logging driver: invalid size: 'abc'"),
        ("json-file", {"max-file": "0"}, "max-file cannot be less than 1"),
        ("json-file", {"max-file": "x"}, 'strconv.Atoi: parsing "x": invalid syntax'),
        ("json-file", {"compress": "maybe"}, 'strconv.ParseBool: parsing "maybe": invalid syntax'),
        ("syslog", {"syslog-address": "bad://x"}, "should be in form proto://address, got bad://x"),
        ("syslog", {"syslog-facility": "bad"}, "invalid syslog facility"),
        ("syslog", {"syslog-format": "bad"}, "Invalid syslog format"),
        ("gelf", {}, "logging driver gelf is not supported by cove"),
    ],
)
def test_refusals(driver: str, opts: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        options.plan({"Type": driver, "Config": opts})
    assert message in e.value.message


def test_none_takes_no_file() -> None:
    assert not plan("none").writes_file


def test_syslog_plan() -> None:
    p = plan(
        "syslog", syslog_address="udp://127.0.0.1:5514", syslog_facility="local3",
        syslog_format="rfc5424", tag="web",
    )  # fmt: skip
    assert (p.syslog_address, p.syslog_facility, p.syslog_format, p.tag) == (
        "udp://127.0.0.1:5514", 19, "rfc5424", "web",
    )  # fmt: skip


def test_daemon_defaults_fill_in() -> None:
    daemon = {"max-size": "1m", "max-file": "3"}
    assert options.container_config(None, "local", daemon) == {"Type": "local", "Config": daemon}
    mine = options.container_config({"Config": {"max-file": "9"}}, "local", daemon)
    assert mine["Config"] == {"max-size": "1m", "max-file": "9"}
    other = options.container_config({"Type": "json-file"}, "local", daemon)
    assert other == {"Type": "json-file", "Config": {}}  # another driver: none of the daemon's
    with pytest.raises(InvalidArgument):
        options.container_config({"Config": {"max-size": 5}}, "json-file", {})
