"""daemon.json keys cove accepts are used or refused: dns-opts reaches resolv.conf, a
storage-opts list or live-restore false stops coved at start with words that say why."""

from __future__ import annotations

import pytest

from tests.daemon_fixture import running_daemon

pytestmark = pytest.mark.integration


def test_dns_opts_are_the_containers_default() -> None:
    with running_daemon(config={"dns-opts": ["ndots:3", "timeout:2"]}) as d:
        r = d.cove("run", "--rm", "--network", "none", "busybox", "cat", "/etc/resolv.conf")
        assert "options ndots:3 timeout:2" in r.stdout, r.stdout + r.stderr
        r = d.cove("run", "--rm", "--network", "none", "--dns-option", "debug", "busybox",
                   "cat", "/etc/resolv.conf")  # fmt: skip
        assert "options debug" in r.stdout and "ndots:3" not in r.stdout


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"storage-opts": ["overlay2.size=1G"]}, "storage-opts overlay2.size=1G"),
        ({"live-restore": False}, "live-restore cannot be turned off"),
    ],
)
def test_settings_cove_cannot_honour_are_refused(config: dict[str, object], words: str) -> None:
    with (
        pytest.raises(RuntimeError, match="coved exited at start") as e,
        running_daemon(busybox=False, config=config),
    ):
        pass
    assert words in str(e.value)


def test_what_dockerd_files_carry_still_loads() -> None:
    with running_daemon(busybox=False, config={"storage-opts": [], "live-restore": True}) as d:
        assert d.cove("version").returncode == 0
