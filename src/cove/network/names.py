"""Names derived from the daemon's roots, so several daemons on one host never share a
bridge, an nft table or a veth name."""

from __future__ import annotations

import hashlib

DEFAULT_EXEC_ROOT = "/run/cove"


def table_name(exec_root: str) -> str:
    if exec_root.rstrip("/") == DEFAULT_EXEC_ROOT:
        return "cove"
    return "cove_" + hashlib.sha256(exec_root.encode()).hexdigest()[:8]


def port_mss_name(table: str) -> str:
    """The BPF program of ``network/portmss.py``: 15 characters at most (BPF_OBJ_NAME_LEN)."""
    return "cove_pmss" if table == "cove" else "cpm_" + table[5:]


def veth_name(container_id: str, network_id: str) -> str:
    """15 characters at most (IFNAMSIZ); stable for a container on a network."""
    h = hashlib.sha256((container_id + network_id).encode()).hexdigest()
    return "cv" + h[:11]
