"""coved's idle import set stays lean (issue 16: idle memory within 5 % of before).

Feature code that a daemon may never use (the builder, TLS, the overlay driver with its
cluster store client, fuse-overlayfs, the user-mode network, the rootless side, the copy
engine and registry client of save/load/pull, the HTTP client of image import) is imported
at its first use, not when coved starts. A fresh interpreter imports what coved's start
imports (main, the composition root, the listeners, the API server and every route module)
and must not have loaded any of them.
"""

from __future__ import annotations

import subprocess
import sys

_START = """
import sys
from cove.daemon import listeners, main, wiring
from cove.api import server
from cove.api.router import default_router
default_router()
print("\\n".join(sorted(sys.modules)))
"""

# module name prefixes that only a feature's first use may import
_LAZY = (
    "cove.build.",
    "cove.api.tls",
    "cove.api.build_inputs",
    "cove.engine.networks.overlay",
    "cove.network.cluster",
    "cove.network.overlay",
    "cove.network.usermode",
    "cove.snapshot.fuse",
    "cove.daemon.rootless",
    "cove.distribution",
    "cove.engine.fs.archive_tar",
    "cove.runtime.rootless_cgroup",
    "cove.logdriver.syslog",
    "cove.logdriver.journald",
    "http.client",
    "urllib.request",
)


def _loaded_at_start() -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", _START], capture_output=True, text=True, check=True, timeout=120
    )
    return set(out.stdout.split())


def test_feature_modules_are_not_imported_at_start() -> None:
    loaded = _loaded_at_start()
    assert "cove.api.routes_build" in loaded  # the start was imported as coved imports it
    eager = sorted(m for m in loaded if m.startswith(_LAZY))
    assert eager == []
