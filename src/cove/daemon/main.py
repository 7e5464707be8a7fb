"""coved: the cove daemon.  Serves the Docker Engine API on unix sockets and TCP (TLS).

Stopping coved leaves containers running (their monitors own them); the next coved picks
them up again, as dockerd's live-restore does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import sys
from typing import Any

from cove.daemon.config import KEY_OF, DaemonConfig, load
from cove.errors import CoveError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.daemon.rootless import Session

log = logging.getLogger("coved")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="coved", description="The cove container engine daemon.")
    p.add_argument(
        "--config-file", help="daemon configuration file (default /etc/cove/daemon.json)"
    )
    p.add_argument(
        "--data-root",
        "-g",
        "--graph",
        dest="data_root",
        help="root of persistent state (default /var/lib/cove)",
    )
    p.add_argument("--exec-root", help="root of runtime state (default /run/cove)")
    p.add_argument(
        "-H",
        "--host",
        action="append",
        dest="hosts",
        help="socket to listen on: unix:///run/cove.sock, tcp://127.0.0.1:2376 (repeatable)",
    )
    p.add_argument("-G", "--group", help="group of the unix socket (default cove, if it exists)")
    p.add_argument("--tlscacert", help="trust client certificates signed only by this CA")
    p.add_argument("--tlscert", help="the server's TLS certificate")
    p.add_argument("--tlskey", help="the server's TLS key")
    p.add_argument("--userns-remap", help="user namespaces: 'default' or user[:group]")
    p.add_argument("--rootless", action="store_true", help="run as a regular user, root only "
                   "in a user namespace (docs/rootless.md)")  # fmt: skip
    p.add_argument("--rootless-network", help="rootless user-mode network: pasta (default "
                   "when installed) or slirp4netns")  # fmt: skip
    p.add_argument("-s", "--storage-driver", help="overlay2, overlay, native (vfs)")
    p.add_argument("--default-runtime", help="crun (default) or runc")
    p.add_argument("-p", "--pidfile", help="pid file (default <exec-root>/coved.pid)")
    p.add_argument("-D", "--debug", action="store_true", default=None)
    p.add_argument("-l", "--log-level", choices=["debug", "info", "warn", "error", "fatal"])
    p.add_argument("--registry-mirror", action="append", dest="registry_mirrors")
    p.add_argument("--insecure-registry", action="append", dest="insecure_registries")
    p.add_argument("--dns", action="append")
    p.add_argument("--dns-search", action="append")
    # networking, as dockerd spells it; booleans take =true/=false
    p.add_argument("-b", "--bridge", help="the default bridge ('none': no default bridge)")
    p.add_argument("--bip", help="default bridge address and prefix, e.g. 172.17.0.1/16")
    p.add_argument("--fixed-cidr", help="IPv4 range of the default bridge for containers")
    p.add_argument("--fixed-cidr-v6", help="IPv6 subnet of the default bridge (with --ipv6)")
    p.add_argument("--seccomp-profile", help="containers' default seccomp profile: a path, "
                   "builtin or unconfined")  # fmt: skip
    for name in _BOOLEAN_FLAGS:
        p.add_argument(f"--{name}", type=_boolean, nargs="?", const=True, default=None)
    p.add_argument("--version", "-v", action="store_true", help="print the version and exit")
    return p


_BOOLEAN_FLAGS = ("iptables", "ip-forward", "ip-masq", "icc", "userland-proxy", "ipv6",
                  "local-port-mss", "tls", "tlsverify", "no-new-privileges")  # fmt: skip


def _boolean(text: str) -> bool:
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value {text!r}")


_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
}


def _lock_pidfile(path: str) -> int:
    """One daemon per exec root: a second coved fails at once instead of fighting."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        with open(path) as f:
            other = f.read().strip()
        raise CoveError(
            f"pid file found, ensure cove is not running or delete {path} (pid {other})"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


async def _serve(cfg: DaemonConfig, session: Session | None = None) -> None:
    from cove.api.server import ApiServer
    from cove.daemon import listeners
    from cove.daemon.wiring import build_engine

    where = listeners.plan(cfg)  # bad hosts, groups or certificates fail before any work
    tls = None
    if where.tls is not None and where.tcp:
        from cove.api.tls import server_context

        tls = server_context(where.tls)
    for warning in where.warnings:
        log.warning("%s", warning)
    idmap = None
    if cfg.userns_remap:
        from cove.daemon import userns

        idmap = userns.resolve(cfg.userns_remap)
        cfg.data_root = userns.remapped_root(cfg.data_root, idmap)
        log.info("userns-remap: container root is host %d:%d; data in %s", *idmap.root,
                 cfg.data_root)  # fmt: skip
    engine = build_engine(cfg, idmap, session)
    await engine.restore()
    api = ApiServer(engine)
    servers = []
    for x in where.listeners:
        if x.kind == "unix":
            servers.append(await api.start_unix(x.address, listeners.SOCKET_MODE, where.gid))
        else:
            servers.append(await api.start_tcp(x.address, tls))
        log.info("API listen on %s%s", x.host, " (TLS)" if x.kind == "tcp" and tls else "")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down; containers keep running")
    for s in servers:
        s.close()
    await engine.net_shutdown()  # only when no container runs: their rules must stay
    for x in where.listeners:
        if x.kind == "unix":
            with contextlib.suppress(OSError):
                os.unlink(x.address)


def flag_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given, under the daemon.json key of their destination (config.KEY_OF), so
    a setting given both ways is caught by ``config.load``."""
    return {
        KEY_OF[attr]: value
        for attr, value in vars(args).items()
        if attr in KEY_OF and value is not None
    }


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.version:
        import cove

        print(f"coved version {cove.__version__}")
        return
    flags = flag_settings(args)
    session: Session | None = None
    try:
        if args.rootless:
            from cove.daemon import rootless

            # read as the user before the namespaces are made: it names their network
            cfg = load(args.config_file or rootless.config_file(), flags)
            session = rootless.enter(cfg.rootless_network)  # from here on: root inside
            rootless.apply_defaults(cfg, session)
        else:
            cfg = load(args.config_file, flags)
    except CoveError as e:
        print(f"coved: {e}", file=sys.stderr)
        sys.exit(1)
    level = "debug" if cfg.debug else cfg.log_level
    logging.basicConfig(
        level=_LEVELS.get(level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if os.geteuid() != 0:
        print("coved: must run as root (a regular user runs coved --rootless)", file=sys.stderr)
        sys.exit(1)
    try:
        _lock_pidfile(cfg.pidfile or os.path.join(cfg.exec_root, "coved.pid"))
        # worker threads (log reading, framing, tar work) hold the GIL up to the switch
        # interval whenever the event loop wants it back after a syscall; 5 ms by default
        # made a /_ping wait tens of ms behind four `logs -f` readers
        sys.setswitchinterval(0.0005)
        asyncio.run(_serve(cfg, session))
    except CoveError as e:
        log.error("%s", e)
        print(f"coved: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
