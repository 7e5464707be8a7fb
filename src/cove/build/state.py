"""The state of one build stage and the pure config edits that instructions make."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from cove.image.config import empty_container_config, goarch
from cove.oci.spec import DEFAULT_PATH
from cove.util.jsontypes import Json

DEFAULT_SHELL = ["/bin/sh", "-c"]
PROXY_ARGS = (
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
    "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
)  # fmt: skip


@dataclass
class Stage:
    index: int
    name: str | None
    image_id: str | None  # None: scratch with nothing committed yet
    config: Json  # the whole image config
    args: dict[str, str] = field(default_factory=dict)  # ARGs in scope
    cmd_set: bool = False  # CMD given in this stage (ENTRYPOINT then keeps it)

    def __post_init__(self) -> None:
        # dockerd's builder gives a stage whose base has no PATH (scratch, an imported rootfs)
        # the default one, so RUN finds its commands and the built image carries it
        if not any(str(e).partition("=")[0] == "PATH" for e in self.run.get("Env") or []):
            self.run["Env"] = [*(self.run.get("Env") or []), f"PATH={DEFAULT_PATH}"]

    @property
    def run(self) -> Json:
        """The container config section (``config`` of the image config)."""
        c = self.config.get("config")
        if not isinstance(c, dict):
            c = empty_container_config()
            self.config["config"] = c
        return c

    @property
    def diff_ids(self) -> list[str]:
        return list(self.config.get("rootfs", {}).get("diff_ids", []))

    @property
    def shell(self) -> list[str]:
        return list(self.run.get("Shell") or DEFAULT_SHELL)

    def env(self) -> dict[str, str]:
        """Variables for expansion: ARGs in scope, overridden by ENV."""
        out = dict(self.args)
        for e in self.run.get("Env") or []:
            k, _, v = str(e).partition("=")
            out[k] = v
        return out

    def set_env(self, key: str, value: str) -> None:
        env = [e for e in self.run.get("Env") or [] if str(e).partition("=")[0] != key]
        env.append(f"{key}={value}")
        self.run["Env"] = env


def scratch_config() -> Json:
    return {
        "architecture": goarch(),
        "config": empty_container_config(),
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    }


def child_config(base: Json) -> Json:
    """A stage's starting config from its base image."""
    cfg = copy.deepcopy(base)
    for k in ("container", "container_config", "docker_version", "comment"):
        cfg.pop(k, None)
    if not isinstance(cfg.get("config"), dict):
        cfg["config"] = empty_container_config()
    cfg.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    cfg.setdefault("history", [])
    return cfg
