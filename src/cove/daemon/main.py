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

from cove.daemon import settings
from cove.daemon.config import DaemonConfig, load
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
    p.add_argument("--rootless", action="store_true", help="run as a regular user, root only "
                   "in a user namespace (docs/rootless.md)")  # fmt: skip
    settings.add_flags(p, DaemonConfig)  # one flag per setting that has one (daemon/config.py)
    p.add_argument("--version", "-v", action="store_true", help="print the version and exit")
    return p


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
    """The settings given as flags, under their daemon.json keys, so that a setting given
    both ways is caught by ``config.load``."""
    return settings.given_flags(args, DaemonConfig)


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
        level = _LEVELS.get("debug" if cfg.debug else cfg.log_level)
        if level is None:
            raise CoveError(f"unable to parse logging level: {cfg.log_level}")
    except CoveError as e:
        print(f"coved: {e}", file=sys.stderr)
        sys.exit(1)
    logging.basicConfig(
        level=level,
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
