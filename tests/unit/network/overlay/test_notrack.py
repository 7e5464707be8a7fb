"""cove's table keeps conntrack off the VXLAN packets of the overlay."""

from __future__ import annotations

from cove.network import firewall as fw


def _plan(**kw: object) -> fw.Plan:
    return fw.Plan("cove_t", notrack=fw.NoTrack("10.1.1.2", 4789), **kw)  # type: ignore[arg-type]


def test_vxlan_packets_are_untracked() -> None:
    text = fw.render(_plan())
    assert "type filter hook prerouting priority raw;" in text
    assert "ip daddr 10.1.1.2 udp dport 4789 notrack" in text
    # only what this host's VTEP sends: containers' own UDP to port 4789 is still NATed
    assert "ip saddr 10.1.1.2 ip daddr != 10.1.1.2 udp dport 4789 notrack" in text
    ip_table = text[: text.index("table bridge cove_t")]  # the chains are in the ip table
    assert ip_table.rstrip().endswith("}") and ip_table.count(" notrack\n") == 2


def test_no_overlay_no_raw_chains() -> None:
    assert "notrack" not in fw.render(fw.Plan("cove_t"))


def test_a_published_udp_4789_keeps_tracking() -> None:
    pub = [fw.Published("udp", "", 4789, "172.17.0.2", 4789)]
    assert "notrack" not in fw.render(_plan(published=pub))
