"""Where a rootless coved keeps its things, as rootless Docker lays them out.

Shared by the daemon (which creates them) and the client (which finds the socket), so both
agree without talking:

- data: ``$XDG_DATA_HOME/cove`` (default ``~/.local/share/cove``);
- runtime directory: ``$XDG_RUNTIME_DIR`` when set, else a private ``/tmp/cove-<uid>`` (0700,
  ours, not a symlink: /tmp is shared, so a directory someone else made there is refused);
- the API socket ``<runtime>/cove.sock`` and the state (exec root) ``<runtime>/cove``;
- config: ``$XDG_CONFIG_HOME/cove/daemon.json`` (default ``~/.config/cove/daemon.json``).

Pure paths except ``private_runtime_dir``, which makes the /tmp fallback safely.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RootlessPaths:
    data_root: str
    runtime_dir: str
    config_file: str

    @property
    def exec_root(self) -> str:
        return os.path.join(self.runtime_dir, "cove")

    @property
    def socket(self) -> str:
        return os.path.join(self.runtime_dir, "cove.sock")

    @property
    def host(self) -> str:
        return "unix://" + self.socket


def _home(env: Mapping[str, str], uid: int) -> str:
    home = env.get("HOME")
    if home:
        return home
    import pwd

    return pwd.getpwuid(uid).pw_dir


def rootless_paths(env: Mapping[str, str] | None = None, uid: int | None = None) -> RootlessPaths:
    env = os.environ if env is None else env
    uid = os.getuid() if uid is None else uid
    home = _home(env, uid)
    data_home = env.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    config_home = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    runtime = env.get("XDG_RUNTIME_DIR") or f"/tmp/cove-{uid}"
    return RootlessPaths(
        data_root=os.path.join(data_home, "cove"),
        runtime_dir=runtime,
        config_file=os.path.join(config_home, "cove", "daemon.json"),
    )


def private_runtime_dir(path: str) -> str:
    """Create ``path`` 0700 if missing; OSError when it exists but is not a directory of
    ours that nobody else may enter."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise PermissionError(f"{path} is not a directory owned by uid {os.getuid()}")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path
