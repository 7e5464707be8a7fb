from cove.daemon.main import _parser, flag_settings


def test_network_flags_become_daemon_json_keys() -> None:
    args = _parser().parse_args(
        ["--icc=false", "--bip", "10.1.0.1/24", "-b", "br0", "--iptables", "--ip-masq=0"]
    )
    assert flag_settings(args) == {
        "bridge": "br0",
        "bip": "10.1.0.1/24",
        "iptables": True,
        "ip-masq": False,
        "icc": False,
    }


def test_table_and_veth_names_fit_the_kernel() -> None:
    from cove.network.names import table_name, veth_name

    assert table_name("/run/cove") == "cove"
    assert table_name("/tmp/x/run").startswith("cove_") and table_name("/tmp/x/run") != "cove"
    assert len(veth_name("a" * 64, "b" * 64)) <= 15
