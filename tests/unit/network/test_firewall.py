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
    tables = [ln for ln in lines if ln.startswith(("table", "delete table"))]
    assert tables == [
        "table ip cove_t", "delete table ip cove_t", "table ip cove_t {",
        "table bridge cove_t", "delete table bridge cove_t", "table bridge cove_t {",
    ]  # fmt: skip
    assert "table" not in "".join(lines).replace("table ip cove_t", "").replace(
        "table bridge cove_t", ""
    )


def test_bridge_table_only_while_icc_is_off() -> None:
    plan = _plan()
    plan.bridges[0] = firewall.BridgeRules("cove0", "172.17.0.0/16")
    text = firewall.render(plan)
    assert text.endswith("table bridge cove_t\ndelete table bridge cove_t\n")  # old one gone
    assert "ether type ip" not in text


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
    # icc off: in the bridge family, which sees switched traffic without br_netfilter
    br = "ether type ip ip saddr 172.17.0.0/16 ip daddr 172.17.0.0/16"
    link = "ether type ip ip saddr 172.17.0.3 ip daddr 172.17.0.2 tcp dport 80 accept"
    reply = "ether type ip ip saddr 172.17.0.2 ip daddr 172.17.0.3 tcp sport 80 accept"
    assert link in text and reply in text
    assert text.index(link) < text.index(f"{br} drop") > text.index("table bridge cove_t {")
    assert "ip saddr 172.18.0.0/16 ip daddr" not in text  # icc on: nothing


def test_same_plan_same_text() -> None:
    assert firewall.render(_plan()) == firewall.render(_plan())
