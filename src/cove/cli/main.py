"""``cove``: global flags, the verb table, and turning errors into docker's messages and codes.

Each verb lives in its own module, imported only when it runs, so ``cove ps`` loads the
parser, the client and ``ps`` and nothing else.
"""

from __future__ import annotations

import sys

from cove.cli.command import PROG, ArgsError, Command, Context, StatusError, daemon_error
from cove.cli.flags import BOOL, STRING, Flag, FlagError, HelpRequested, parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

VERSION = "0.1.0"

# verb -> module in cove.cli; "exec" and "import" are keywords, hence the underscores.
VERBS = {
    "attach": "attach", "create": "create", "exec": "exec_", "history": "history",
    "images": "images", "import": "import_", "info": "info", "inspect": "inspect",
    "commit": "commit",
    "diff": "diff", "export": "export", "load": "load", "save": "save",
    "login": "login", "logout": "logout", "push": "push", "search": "search",
    "kill": "kill", "logs": "logs", "ps": "ps", "pull": "pull", "rename": "rename",
    "restart": "restart", "rm": "rm", "rmi": "rmi", "run": "run", "start": "start",
    "stop": "stop", "tag": "tag", "top": "top", "version": "version", "wait": "wait",
    "pause": "pause", "unpause": "unpause", "stats": "stats", "update": "update",
    "events": "events",
}  # fmt: skip
GROUPS = {
    "container": {
        "attach": "attach", "create": "create", "exec": "exec_", "inspect": "inspect",
        "commit": "commit",
        "diff": "diff", "export": "export",
        "kill": "kill", "list": "ps", "logs": "logs", "ls": "ps", "ps": "ps",
        "remove": "rm", "rename": "rename", "restart": "restart", "rm": "rm", "run": "run",
        "start": "start", "stop": "stop", "top": "top", "wait": "wait",
        "pause": "pause", "unpause": "unpause", "stats": "stats", "update": "update",
        "prune": "container_prune",
    },
    "image": {
        "history": "history", "import": "import_", "inspect": "inspect", "list": "images",
        "ls": "images", "pull": "pull", "remove": "rmi", "rm": "rmi", "tag": "tag",
    },
    "system": {"info": "info"},
    "registry": {"serve": "registry", "gc": "registry_gc"},
}  # fmt: skip
GROUPS["image"].update({"push": "push"})
GROUPS["image"].update({"load": "load", "prune": "image_prune", "save": "save"})
GROUPS["system"].update({"df": "system_df"})
GROUPS["network"] = {
    "connect": "network_connect", "create": "network_create", "disconnect": "network_disconnect",
    "inspect": "inspect", "list": "network_ls", "ls": "network_ls", "prune": "network_prune",
    "remove": "network_rm", "rm": "network_rm",
}  # fmt: skip
GROUPS["container"]["port"] = "port"
GROUPS["volume"] = {
    "create": "volume_create", "inspect": "inspect", "list": "volume_ls", "ls": "volume_ls",
    "prune": "volume_prune", "remove": "volume_rm", "rm": "volume_rm",
}  # fmt: skip
GROUPS["container"]["cp"] = "cp"
GROUPS["builder"] = {"build": "build", "prune": "builder_prune"}
VERBS["cp"] = "cp"
VERBS["port"] = "port"
VERBS["build"] = "build"
GROUPS["image"]["build"] = "build"
SUMMARIES = {
    "container": "Manage containers", "image": "Manage images", "system": "Manage cove",
    "network": "Manage networks", "builder": "Manage builds",
    "builder_prune": "Remove build cache",
    "volume": "Manage volumes", "volume_create": "Create a volume",
    "volume_ls": "List volumes", "volume_prune": "Remove unused local volumes",
    "volume_rm": "Remove one or more volumes",
    "cp": "Copy files/folders between a container and the local filesystem",
    "build": "Build an image from a Dockerfile",
    "port": "List port mappings or a specific mapping for the container",
    "network_connect": "Connect a container to a network", "network_create": "Create a network",
    "network_disconnect": "Disconnect a container from a network",
    "network_ls": "List networks", "network_prune": "Remove all unused networks",
    "network_rm": "Remove one or more networks",
    "attach": "Attach local standard input, output, and error streams to a running container",
    "commit": "Create a new image from a container's changes",
    "diff": "Inspect changes to files or directories on a container's filesystem",
    "export": "Export a container's filesystem as a tar archive",
    "load": "Load an image from a tar archive or STDIN",
    "save": "Save one or more images to a tar archive (streamed to STDOUT by default)",
    "login": "Authenticate to a registry", "logout": "Log out from a registry",
    "push": "Upload an image to a registry", "search": "Search Docker Hub for images",
    "registry": "Run cove's own image registry",
    "registry_gc": "Remove unreferenced blobs from a cove registry",
    "create": "Create a new container", "exec": "Execute a command in a running container",
    "history": "Show the history of an image", "images": "List images",
    "import": "Import the contents from a tarball to create a filesystem image",
    "info": "Display system-wide information",
    "inspect": "Return low-level information on cove objects",
    "kill": "Kill one or more running containers", "logs": "Fetch the logs of a container",
    "ps": "List containers", "pull": "Download an image from a registry",
    "rename": "Rename a container", "restart": "Restart one or more containers",
    "rm": "Remove one or more containers", "rmi": "Remove one or more images",
    "run": "Create and run a new container from an image",
    "start": "Start one or more stopped containers",
    "stop": "Stop one or more running containers",
    "tag": "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    "top": "Display the running processes of a container",
    "version": "Show the cove version information",
    "wait": "Block until one or more containers stop, then print their exit codes",
    "pause": "Pause all processes within one or more containers",
    "unpause": "Unpause all processes within one or more containers",
    "stats": "Display a live stream of container(s) resource usage statistics",
    "update": "Update configuration of one or more containers",
    "events": "Get real time events from the server",
    "prune": "Remove all stopped containers",
}  # fmt: skip

GLOBAL_FLAGS = (
    Flag("config", None, STRING, "Location of client config files"),
    Flag("context", "c", STRING, "Name of the context to use (ignored)"),
    Flag("debug", "D", BOOL, "Enable debug mode"),
    Flag("host", "H", STRING, "Daemon socket to connect to", metavar="list"),
    Flag("log-level", "l", STRING, "Set the logging level", default="info"),
    Flag("tls", None, BOOL, "Use TLS; implied by --tlsverify"),
    Flag("tlscacert", None, STRING, "Trust certs signed only by this CA", metavar="string"),
    Flag("tlscert", None, STRING, "Path to TLS certificate file", metavar="string"),
    Flag("tlskey", None, STRING, "Path to TLS key file", metavar="string"),
    Flag("tlsverify", None, BOOL, "Use TLS and verify the remote"),
    Flag("version", "v", BOOL, "Print version information and quit"),
)
TLS_FLAGS = ("tls", "tlsverify", "tlscacert", "tlscert", "tlskey")


def aliases_for(module: str, path: str) -> list[str]:
    """Every spelling of a verb, docker style: ``cove container ls, cove ps``."""
    found = [f"{PROG} {g} {v}" for g, verbs in GROUPS.items() for v, m in verbs.items()
             if m == module]  # fmt: skip
    found += [f"{PROG} {v}" for v, m in VERBS.items() if m == module]
    return found if len(found) > 1 else []


def top_help() -> str:
    lines = [f"Usage:  {PROG} [OPTIONS] COMMAND", "", "A Docker-compatible container engine", ""]
    lines += ["Management Commands:"]
    lines += [f"  {g:<11} {SUMMARIES[g]}" for g in GROUPS]
    lines += ["", "Commands:"]
    lines += [f"  {v:<11} {SUMMARIES[v]}" for v in sorted(VERBS)]
    lines += ["", "Global Options:"]
    from cove.cli.flags import usage_lines

    lines += usage_lines(GLOBAL_FLAGS)
    lines += ["", f"Run '{PROG} COMMAND --help' for more information on a command.", ""]
    return "\n".join(lines)


def group_help(group: str) -> str:
    lines = [f"Usage:  {PROG} {group} COMMAND", "", SUMMARIES[group], "", "Commands:"]
    lines += [f"  {v:<11} {SUMMARIES.get(GROUPS[group][v].rstrip('_'), '')}".rstrip()
              for v in sorted(GROUPS[group])]  # fmt: skip
    lines += ["", f"Run '{PROG} {group} COMMAND --help' for more information on a command.", ""]
    return "\n".join(lines)


def dispatch(argv: Sequence[str]) -> int:
    try:
        gopts, rest = parse(GLOBAL_FLAGS, argv, interspersed=False)
    except HelpRequested:
        sys.stdout.write(top_help())
        return 0
    except FlagError as e:
        sys.stderr.write(f"{e}\nSee '{PROG} --help'.\n")
        return 125
    if gopts.on("version"):
        sys.stdout.write(f"{PROG} version {VERSION}\n")
        return 0
    if not rest:
        sys.stdout.write(top_help())
        return 0
    words = [PROG]
    group = ""
    name = rest[0]
    if name in GROUPS:
        group = name
        words.append(name)
        if len(rest) < 2 or rest[1] in ("--help", "-h"):
            sys.stderr.write(group_help(group))
            return 0
        name = rest[1]
        module = GROUPS[group].get(name)
        rest = rest[1:]
    else:
        module = VERBS.get(name)
    words.append(name)
    if module is None:
        msg = f"{PROG}: unknown command: {' '.join(words)}\n\n"
        if group:
            msg += f"Usage:  {PROG} {group}\n\n"
        msg += f"Run '{' '.join(words[:-1])} --help' for more information\n"
        sys.stderr.write(msg)
        return 1
    path = " ".join(words)
    host = gopts.text("host") or None
    mod = __import__(f"cove.cli.{module}", fromlist=["run"])
    command: Command = mod.COMMAND
    ctx = Context(path, host, group)
    ctx.tls = {f: gopts.on(f) if f in ("tls", "tlsverify") else gopts.text(f)
               for f in TLS_FLAGS if gopts.given(f)}  # fmt: skip
    return run_verb(ctx, command, module, mod.run, rest[1:])


def run_verb(ctx: Context, command: Command, module: str, func: object, args: Sequence[str]) -> int:
    path = ctx.path
    usage = f"Usage:  {path} {command.usage}".rstrip()
    try:
        opts, positionals = parse(command.flags, args, interspersed=command.interspersed)
        command.check_args(path, positionals)
        return int(func(ctx, opts, positionals))  # type: ignore[operator]
    except HelpRequested as e:
        if e.deprecated_h:
            sys.stdout.write("Flag shorthand -h has been deprecated, use --help\n")
        sys.stdout.write(command.help_text(path, aliases_for(module, path)))
        return 0
    except FlagError as e:
        sys.stderr.write(f"{e}\n\n{usage}\n\nRun '{path} --help' for more information\n")
        return 125
    except ArgsError as e:
        sys.stderr.write(
            f"{PROG}: {e}\n\n{usage}\n\n{e.hint} '{path} --help' for more information\n"
        )
        return 1
    except StatusError as e:
        if e.message:
            Context.err(e.message)
        return e.code
    except Exception as e:
        from cove.client.errors import APIError, DaemonUnreachable

        if isinstance(e, APIError):
            Context.err(daemon_error(e.message))
            return 1
        if isinstance(e, DaemonUnreachable):
            Context.err(str(e))
            return 1
        from cove.client.http import ProtocolError

        if isinstance(e, ProtocolError | ConnectionError) and not isinstance(e, BrokenPipeError):
            Context.err(f"{PROG}: error during connect: {e}")
            return 1
        if isinstance(e, ValueError):  # a host we cannot speak to (tcp://...)
            Context.err(f"{PROG}: {e}")
            return 1
        if isinstance(e, OSError):  # a file or socket this user may not open: one line
            Context.err(os_error_line(e))
            return 1
        raise


def os_error_line(e: OSError) -> str:
    """Go's wording for a failed open ("open /x: permission denied"), as docker prints it."""
    reason = (e.strerror or str(e)).lower()
    return f"open {e.filename}: {reason}" if e.filename else f"{PROG}: {reason}"


def main(argv: Sequence[str] | None = None) -> None:
    try:
        code = dispatch(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # The reader went away (``cove ps | head``): exit quietly, and point stdout at
        # /dev/null so the interpreter's final flush does not complain again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141
    sys.exit(code)
