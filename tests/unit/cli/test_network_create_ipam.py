"""``network create``: gateways, ranges and aux addresses go to the subnet holding them."""

from __future__ import annotations

import pytest

from cove.cli.command import StatusError
from cove.cli.flags import parse
from cove.cli.network_create import COMMAND, _ipam_config


def _config(*argv: str) -> list[dict[str, object]]:
    opts, _ = parse(COMMAND.flags, [*argv, "net"])
    return _ipam_config(opts)


def test_dual_stack_gateway_matched_by_family() -> None:
    got = _config("--ipv6", "--subnet", "10.1.0.0/24", "--subnet", "fd00:1::/64",
                  "--gateway", "fd00:1::ffff", "--ip-range", "fd00:1::/96",
                  "--aux-address", "a=10.1.0.9")  # fmt: skip
    assert got == [
        {"Subnet": "10.1.0.0/24", "AuxiliaryAddresses": {"a": "10.1.0.9"}},
        {"Subnet": "fd00:1::/64", "Gateway": "fd00:1::ffff", "IPRange": "fd00:1::/96"},
    ]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--gateway", "10.1.0.1"], "every ip-range or gateway must have a corresponding subnet"),
        (["--subnet", "10.1.0.0/24", "--gateway", "10.2.0.1"], "no matching subnet for gateway"),
        (["--subnet", "10.1.0.0/24", "--ip-range", "fd00::/96"], "no matching subnet for range"),
        (
            [
                "--subnet",
                "10.1.0.0/16",
                "--subnet",
                "fd00::/64",
                "--gateway",
                "10.1.0.1",
                "--gateway",
                "10.1.0.2",
            ],
            "cannot configure multiple gateways",
        ),
        (["--subnet", "nonsense"], "invalid CIDR address: nonsense"),
    ],
)
def test_refusals(argv: list[str], words: str) -> None:
    with pytest.raises(StatusError) as e:
        _config(*argv)
    assert words in e.value.message
