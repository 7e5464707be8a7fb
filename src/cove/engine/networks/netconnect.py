"""Networks on running containers: ``network connect``/``disconnect``, and getting every
running container's ports, DNS and rules back after a daemon restart."""

from __future__ import annotations

import contextlib

from cove.engine.networks.links import link_parts
from cove.engine.networks.netendpoints import PREDEFINED, EndpointOps, log
from cove.engine.networks.records import EndpointSettings, Network, endpoints, next_ifname
from cove.engine.record import Container
from cove.errors import Conflict, CoveError, Forbidden, NotFound


class ConnectOps(EndpointOps):
    # --- connect / disconnect ------------------------------------------------------------
    async def _connect_locked(self, c: Container, n: Network, cfg: EndpointSettings) -> None:
        """Connect ``c`` to ``n``; an overlay address reserved for it in the cluster store
        first is given back if the connect fails."""
        ov = self._overlay
        taken = await ov.reserve_for_connect(c, n, cfg) if ov is not None else []
        try:
            await self._connect_endpoint(c, n, cfg)
        except BaseException:
            if ov is not None and taken:
                await ov.unreserve(c, taken)
            raise

    async def _connect_endpoint(self, c: Container, n: Network, cfg: EndpointSettings) -> None:
        nets = c.data["NetworkSettings"].setdefault("Networks", {})
        mode = str(c.host_config.get("NetworkMode") or "")
        if mode in ("host", "none") or mode.startswith("container:"):
            raise Forbidden(
                "container cannot be disconnected from host network or connected to host network"
                if n["Name"] == "host" or mode == "host"
                else "container sharing network namespace with another container or host "
                "cannot be connected to any other network"
            )
        if n["Name"] in ("host", "none"):
            raise Forbidden(
                "container cannot be disconnected from host network or connected to host network"
            )
        if n["Name"] in nets:
            raise Forbidden(f"endpoint with name {c.name} already exists in network {n['Name']}")
        ep = self._requested_endpoint(n, cfg)
        nets[n["Name"]] = ep
        pid = c.state.get("Pid") if c.state.get("Running") else None
        if pid:
            try:
                self._allocate(c, n, ep, len(nets) - 1)
                await self._net_call(self._join, c, n, ep, f"/proc/{pid}/ns/net", next_ifname(c))
                await self._publish(c, f"/proc/{pid}/ns/net")
            except BaseException:
                nets.pop(n["Name"], None)
                raise
        c.save()
        self.bus.emit(
            "network",
            "connect",
            n["Id"],
            {"container": c.id, "name": n["Name"], "type": n["Driver"]},
        )

    async def _disconnect_locked(self, c: Container, n: Network, force: bool) -> None:
        nets = endpoints(c)
        if n["Name"] not in nets:
            raise Forbidden(f"container {c.id} is not connected to network {n['Name']}")
        ep = nets[n["Name"]]
        pid = c.state.get("Pid") if c.state.get("Running") else None
        if pid and ep.get("IPAddress"):
            ifname = c.net_ifname(n["Id"])
            e = self._endpoint(c, n, ep, ifname)
            netns = f"/proc/{pid}/ns/net"
            with contextlib.suppress(Exception):
                await self._net_call(self._driver_of(n).leave, self._netcfg(n), e, netns)
                if n["Driver"] == "bridge" and ifname:
                    from cove.network import netlink

                    await self._net_call(netlink.detach_inside, netns, ifname)
        del nets[n["Name"]]
        c.forget_network(n["Id"])
        if n["Name"] not in PREDEFINED:
            self._write_records(n)
        if pid:
            await self._publish(c, f"/proc/{pid}/ns/net")
        c.save()
        self.bus.emit(
            "network",
            "disconnect",
            n["Id"],
            {"container": c.id, "name": n["Name"], "type": n["Driver"]},
        )

    # --- legacy links -----------------------------------------------------------------------
    async def container_remove_link(self, name: str) -> None:
        """``rm --link parent/alias``: drop one ``--link`` of ``parent``; both containers stay.
        A running parent's DNS aliases and link rules follow at once."""
        full = name.strip("/")
        parent_ref, _, alias = full.rpartition("/")
        if not parent_ref:
            raise Conflict("Conflict, cannot remove the default link name of the container")
        try:
            parent = self.find(parent_ref)
        except NotFound:
            raise NotFound(f"No such container: {full}") from None
        links = [str(x) for x in parent.host_config.get("Links") or []]
        keep = [x for x in links if link_parts(x)[1] != alias]
        if len(keep) == len(links):
            raise NotFound(f"No such container: {full}")
        parent.host_config["Links"] = keep or None
        parent.save()
        if parent.state.get("Running"):
            self._dns.update_links(parent.id, self._link_ips(parent))
            await self._apply_firewall()

    # --- daemon restart -------------------------------------------------------------------
    async def net_restore(self) -> None:
        """After a daemon restart: running containers get their ports, DNS and rules back;
        addresses of stopped ones are freed; the table is rewritten whole (dropping stale
        rules)."""
        from cove.network import ports as P

        for c in self.containers.values():
            running = bool(c.state.get("Running"))
            if not running:
                if c.data["NetworkSettings"].get("IPAddress") or any(
                    ep.get("IPAddress") for _n, ep in self._attached_safe(c)
                ):
                    self._clear(c)
                    c.save()
                continue
            want = P.from_inspect(c.data["NetworkSettings"].get("Ports") or {})
            try:
                self._ports.reserve(c.id, want, c.name)
            except CoveError as e:
                log.warning("container %s: %s", c.id, e)
            pid = c.state.get("Pid")
            if pid and self.net_embedded_dns(c):
                with contextlib.suppress(Exception):
                    await self._publish(c, f"/proc/{pid}/ns/net")
        for n in self.networks.values():
            if n["Driver"] == "bridge" and any(
                n["Id"] in {x["Id"] for x, _ in self._attached_safe(c)}
                for c in self.containers.values()
                if c.state.get("Running")
            ):
                with contextlib.suppress(Exception):
                    await self._net_call(self._driver_of(n).create, self._netcfg(n))
        if self.net_options.iptables:  # a killed daemon's program: the rebuild loads anew
            await self._net_call(self._port_mss.drop_stale)
        try:
            await self._apply_firewall(force=True)
        except CoveError as e:
            log.warning("rebuilding the firewall: %s", e)
        if self._overlay is not None:
            self._overlay.restore()

    def _attached_safe(self, c: Container) -> list[tuple[Network, EndpointSettings]]:
        try:
            return self._attached(c)
        except NotFound:
            return []

    async def net_shutdown(self) -> None:
        """At a clean daemon stop with no container running: drop cove's table and the
        bridges this process created (the next start recreates both on demand), so a
        short-lived daemon leaves nothing in the kernel.  With containers running everything
        stays, as they keep running."""
        if self._overlay is not None:
            await self._overlay.shutdown()  # the store's watch first, then the devices
        if any(c.state.get("Running") for c in self.containers.values()):
            return
        self._dns.close_all()
        if self.net_options.iptables:
            from cove.network import firewall, nft

            with contextlib.suppress(CoveError):
                await self._net_call(nft.apply, firewall.delete_script(self._fw_table))
            await self._net_call(self._port_mss.stop)
        from cove.network import netlink
        from cove.network.drivers import BridgeDriver

        bridge = self._drivers["bridge"]
        for name in sorted(bridge.created if isinstance(bridge, BridgeDriver) else ()):
            with contextlib.suppress(Exception):
                await self._net_call(netlink.delete_link, name)
