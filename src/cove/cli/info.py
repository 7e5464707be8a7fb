"""``cove info``: system-wide information (GET /info) in docker's layout."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options

COMMAND = Command(
    "info",
    "[OPTIONS]",
    "Display system-wide information",
    [Flag("format", "f", STRING, "Format output using a custom template")],
    max_args=0,
)


def _bytes_binary(n: float) -> str:
    """go-units ``BytesSize``: binary units with 4 significant digits."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n /= 1024
        i += 1
    return f"{n:.4g}{units[i]}"


def server_lines(s: dict[str, Any]) -> list[str]:
    out = [
        f" Containers: {s.get('Containers', 0)}",
        f"  Running: {s.get('ContainersRunning', 0)}",
        f"  Paused: {s.get('ContainersPaused', 0)}",
        f"  Stopped: {s.get('ContainersStopped', 0)}",
        f" Images: {s.get('Images', 0)}",
        f" Server Version: {s.get('ServerVersion', '')}",
        f" Storage Driver: {s.get('Driver', '')}",
    ]
    out += [f"  {k}: {v}" for k, v in s.get("DriverStatus") or []]
    out += [
        f" Logging Driver: {s.get('LoggingDriver', '')}",
        f" Cgroup Driver: {s.get('CgroupDriver', '')}",
        f" Cgroup Version: {s.get('CgroupVersion', '')}",
    ]
    plugins = s.get("Plugins") or {}
    if plugins:
        out.append(" Plugins:")
        out += [f"  {k}: {' '.join(v or [])}" for k, v in plugins.items() if v]
    runtimes = s.get("Runtimes") or {}
    if runtimes:
        out.append(f" Runtimes: {' '.join(sorted(runtimes))}")
    out.append(f" Default Runtime: {s.get('DefaultRuntime', '')}")
    if s.get("SecurityOptions"):
        out.append(" Security Options:")
        for opt in s["SecurityOptions"]:
            fields = dict(f.partition("=")[::2] for f in opt.split(","))
            out.append(f"  {fields.get('name', opt)}")
            out += [f"   {k.title()}: {v}" for k, v in fields.items() if k != "name"]
    out += [
        f" Kernel Version: {s.get('KernelVersion', '')}",
        f" Operating System: {s.get('OperatingSystem', '')}",
        f" OSType: {s.get('OSType', '')}",
        f" Architecture: {s.get('Architecture', '')}",
        f" CPUs: {s.get('NCPU', 0)}",
        f" Total Memory: {_bytes_binary(s.get('MemTotal', 0))}",
        f" Name: {s.get('Name', '')}",
        f" ID: {s.get('ID', '')}",
        f" Docker Root Dir: {s.get('DockerRootDir', '')}",
        f" Debug Mode: {str(bool(s.get('Debug'))).lower()}",
        f" Experimental: {str(bool(s.get('ExperimentalBuild'))).lower()}",
    ]
    registry = s.get("RegistryConfig") or {}
    insecure = registry.get("InsecureRegistryCIDRs") or []
    insecure += [k for k, v in (registry.get("IndexConfigs") or {}).items()
                 if not v.get("Secure") and k != "docker.io"]  # fmt: skip
    if insecure:
        out.append(" Insecure Registries:")
        out += [f"  {r}" for r in insecure]
    if registry.get("Mirrors"):
        out.append(" Registry Mirrors:")
        out += [f"  {m}" for m in registry["Mirrors"]]
    out.append(f" Live Restore Enabled: {str(bool(s.get('LiveRestoreEnabled'))).lower()}")
    for w in s.get("Warnings") or []:
        out.append(w)
    return out


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.main import VERSION
    from cove.client.errors import DaemonUnreachable

    try:
        server: dict[str, Any] | None = ctx.client.get("/info")
        error = ""
    except DaemonUnreachable as e:
        server, error = None, str(e)
    if opts.text("format"):
        from cove.cli.tmpl import render
        from cove.cli.tmpl_parse import TemplateError

        try:
            sys.stdout.write(render(opts.text("format"), server or {}, strict=False) + "\n")
        except TemplateError as e:
            raise StatusError(1, f"template parsing error: {e}") from None
    else:
        lines = ["Client:", f" Version:    {VERSION}", " Context:    default",
                 " Debug Mode: false", "", "Server:"]  # fmt: skip
        if server is not None:
            lines += server_lines(server)
        sys.stdout.write("\n".join(lines) + "\n")
    if error:
        raise StatusError(1, error)
    return 0
