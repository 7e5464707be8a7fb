"""The flags ``run`` and ``create`` share (docker's ``addFlags`` in container/opts.go)."""

from __future__ import annotations

from cove.cli.flags import BOOL, INT, LIST, STRING, Flag
from cove.cli.secopts import check_cgroup_rule, check_sysctl
from cove.cli.units import parse_go_duration, ram_in_bytes


def _ulimit(text: str) -> None:
    from cove.cli.runparse import parse_ulimit

    parse_ulimit(text)


def _decimal(text: str) -> None:
    try:
        float(text)
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax') from None


def _bytes(text: str) -> None:
    if text != "-1":
        ram_in_bytes(text)


F = Flag
CONTAINER_FLAGS = (
    F("add-host", None, LIST, "Add a custom host-to-IP mapping (host:ip)"),
    F("attach", "a", LIST, "Attach to STDIN, STDOUT or STDERR"),
    F("cap-add", None, LIST, "Add Linux capabilities"),
    F("cap-drop", None, LIST, "Drop Linux capabilities"),
    F("cgroup-parent", None, STRING, "Optional parent cgroup for the container"),
    F("cgroupns", None, STRING, "Cgroup namespace to use (host|private)"),
    F("cidfile", None, STRING, "Write the container ID to the file"),
    F("cpu-period", None, INT, "Limit CPU CFS (Completely Fair Scheduler) period"),
    F("cpu-quota", None, INT, "Limit CPU CFS (Completely Fair Scheduler) quota"),
    F("cpu-shares", "c", INT, "CPU shares (relative weight)"),
    F("cpus", None, STRING, "Number of CPUs", metavar="decimal", check=_decimal),
    F("cpuset-cpus", None, STRING, "CPUs in which to allow execution (0-3, 0,1)"),
    F("cpuset-mems", None, STRING, "MEMs in which to allow execution (0-3, 0,1)"),
    F("detach-keys", None, STRING, "Override the key sequence for detaching a container"),
    F("device", None, LIST, "Add a host device to the container"),
    F(
        "device-cgroup-rule",
        None,
        LIST,
        "Add a rule to the cgroup allowed devices list",
        check=check_cgroup_rule,
    ),
    F("dns", None, LIST, "Set custom DNS servers"),
    F("dns-option", None, LIST, "Set DNS options"),
    F("dns-search", None, LIST, "Set custom DNS search domains"),
    F("domainname", None, STRING, "Container NIS domain name"),
    F("entrypoint", None, STRING, "Overwrite the default ENTRYPOINT of the image"),
    F("env", "e", LIST, "Set environment variables"),
    F("env-file", None, LIST, "Read in a file of environment variables"),
    F("expose", None, LIST, "Expose a port or a range of ports"),
    F("group-add", None, LIST, "Add additional groups to join"),
    F("health-cmd", None, STRING, "Command to run to check health"),
    F(
        "health-interval",
        None,
        STRING,
        "Time between running the check (ms|s|m|h) (default 0s)",
        metavar="duration",
        check=parse_go_duration,
    ),
    F("health-retries", None, INT, "Consecutive failures needed to report unhealthy"),
    F(
        "health-start-period",
        None,
        STRING,
        "Start period for the container to initialize "
        "before starting health-retries countdown (ms|s|m|h) (default 0s)",
        metavar="duration",
        check=parse_go_duration,
    ),
    F(
        "health-timeout",
        None,
        STRING,
        "Maximum time to allow one check to run (ms|s|m|h) (default 0s)",
        metavar="duration",
        check=parse_go_duration,
    ),
    F("hostname", "h", STRING, "Container host name"),
    F(
        "init",
        None,
        BOOL,
        "Run an init inside the container that forwards signals and reaps processes",
    ),
    F("interactive", "i", BOOL, "Keep STDIN open even if not attached"),
    F("ip", None, STRING, "IPv4 address (e.g., 172.30.100.104)"),
    F("ip6", None, STRING, "IPv6 address (e.g., 2001:db8::33)"),
    F("ipc", None, STRING, "IPC mode to use"),
    F("label", "l", LIST, "Set meta data on a container"),
    F("label-file", None, LIST, "Read in a line delimited file of labels"),
    F("link", None, LIST, "Add link to another container"),
    F("log-driver", None, STRING, "Logging driver for the container"),
    F("log-opt", None, LIST, "Log driver options"),
    F("mac-address", None, STRING, "Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    F("memory", "m", STRING, "Memory limit", metavar="bytes", check=ram_in_bytes),
    F("memory-reservation", None, STRING, "Memory soft limit", metavar="bytes", check=ram_in_bytes),
    F(
        "memory-swap",
        None,
        STRING,
        "Swap limit equal to memory plus swap: '-1' to enable unlimited swap",
        metavar="bytes",
        check=_bytes,
    ),
    F("memory-swappiness", None, INT, "Tune container memory swappiness (0 to 100)", default=-1),
    F("mount", None, LIST, "Attach a filesystem mount to the container", metavar="mount"),
    F("name", None, STRING, "Assign a name to the container"),
    F("network", None, STRING, "Connect a container to a network", metavar="network"),
    F("net", None, STRING, "", hidden=True),
    F("network-alias", None, LIST, "Add network-scoped alias for the container"),
    F("net-alias", None, LIST, "", hidden=True),
    F("no-healthcheck", None, BOOL, "Disable any container-specified HEALTHCHECK"),
    F("oom-kill-disable", None, BOOL, "Disable OOM Killer"),
    F("oom-score-adj", None, INT, "Tune host's OOM preferences (-1000 to 1000)"),
    F("pid", None, STRING, "PID namespace to use"),
    F("pids-limit", None, INT, "Tune container pids limit (set -1 for unlimited)"),
    F("platform", None, STRING, "Set platform if server is multi-platform capable"),
    F("privileged", None, BOOL, "Give extended privileges to this container"),
    F("publish", "p", LIST, "Publish a container's port(s) to the host"),
    F("publish-all", "P", BOOL, "Publish all exposed ports to random ports"),
    F(
        "pull",
        None,
        STRING,
        'Pull image before creating ("always", "missing", "never")',
        default="missing",
    ),
    F("quiet", "q", BOOL, "Suppress the pull output"),
    F("read-only", None, BOOL, "Mount the container's root filesystem as read only"),
    F("restart", None, STRING, "Restart policy to apply when a container exits", default="no"),
    F(
        "rm",
        None,
        BOOL,
        "Automatically remove the container and its associated anonymous volumes when it exits",
    ),
    F("runtime", None, STRING, "Runtime to use for this container"),
    F("security-opt", None, LIST, "Security Options"),
    F("shm-size", None, STRING, "Size of /dev/shm", metavar="bytes", check=ram_in_bytes),
    F("stop-signal", None, STRING, "Signal to stop the container"),
    F("stop-timeout", None, INT, "Timeout (in seconds) to stop a container"),
    F("storage-opt", None, LIST, "Storage driver options for the container"),
    F("sysctl", None, LIST, "Sysctl options", metavar="map", check=check_sysctl),
    F("tmpfs", None, LIST, "Mount a tmpfs directory"),
    F("tty", "t", BOOL, "Allocate a pseudo-TTY"),
    F("ulimit", None, LIST, "Ulimit options", metavar="ulimit", check=_ulimit),
    F("user", "u", STRING, "Username or UID (format: <name|uid>[:<group|gid>])"),
    F("userns", None, STRING, "User namespace to use"),
    F("uts", None, STRING, "UTS namespace to use"),
    F("volume", "v", LIST, "Bind mount a volume"),
    F("volume-driver", None, STRING, "Optional volume driver for the container"),
    F("volumes-from", None, LIST, "Mount volumes from the specified container(s)"),
    F("workdir", "w", STRING, "Working directory inside the container"),
)

RUN_ONLY = (
    F("detach", "d", BOOL, "Run container in background and print container ID"),
    F("sig-proxy", None, BOOL, "Proxy received signals to the process", default=True),
)


def run_flags() -> tuple[Flag, ...]:
    return tuple(sorted(CONTAINER_FLAGS + RUN_ONLY, key=lambda f: f.long))
