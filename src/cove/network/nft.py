"""Edge module: hand an nft script to ``nft -f`` (one atomic transaction)."""

from __future__ import annotations

import shutil
import subprocess

from cove.errors import SystemError_

_NFT = shutil.which("nft") or "/usr/sbin/nft"


def apply(script: str) -> None:
    r = subprocess.run([_NFT, "-f", "-"], input=script.encode(), capture_output=True)
    if r.returncode != 0:
        raise SystemError_(
            "failed to program the firewall: " + r.stderr.decode(errors="replace").strip()
        )


def available() -> bool:
    return shutil.which(_NFT) is not None
