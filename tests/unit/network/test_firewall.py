from cove.network import firewall


def _plan() -> firewall.Plan:
    return firewall.Plan(
        "cove_t",
        bridges=[
            firewall.BridgeRules("cove0", "172.17.0.0/16", icc=False),
            firewall.BridgeRules("br-1", "172.18.0.0/16", internal=True),
        ],
        published=[
            firewall.Published("tcp", "", 8080, "172.17.0.2", 80),
            firewall.Published("udp", "127.0.0.1", 5353, "172.17.0.2", 53),
        ],
        links=[firewall.LinkAllow("cove0", "172.17.0.3", "172.17.0.2", "tcp", 80)],
    )


def test_script_replaces_own_table_only() -> None:
    text = firewall.render(_plan())
    lines = text.splitlines()
    assert lines[:3] == ["table ip cove_t", "delete table ip cove_t", "table ip cove_t {"]
    assert "table" not in "".join(lines[3:]).replace("cove_t", "")


def test_published_ports_are_kernel_dnat() -> None:
    text = firewall.render(_plan())
    assert "    tcp dport 8080 dnat to 172.17.0.2:80" in text
    assert "    ip daddr 127.0.0.1 udp dport 5353 dnat to 172.17.0.2:53" in text
    assert text.count("fib daddr type local jump published") == 2  # prerouting + output
    assert 'oifname "cove0" ip saddr 127.0.0.0/8 masquerade' in text


def test_masquerade_isolation_internal_icc() -> None:
    text = firewall.render(_plan())
    assert 'ip saddr 172.17.0.0/16 oifname != "cove0" masquerade' in text
    assert 'ip saddr 172.18.0.0/16 oifname != "br-1" masquerade' not in text  # internal
    assert 'iifname "br-1" oifname != "br-1" drop' in text
    assert 'iifname "cove0" oifname { "br-1" } drop' in text
    link = 'iifname "cove0" oifname "cove0" ip saddr 172.17.0.3 ip daddr 172.17.0.2 tcp dport 80'
    assert link + " accept" in text
    assert text.index(link) < text.index('iifname "cove0" oifname "cove0" drop')


def test_same_plan_same_text() -> None:
    assert firewall.render(_plan()) == firewall.render(_plan())
