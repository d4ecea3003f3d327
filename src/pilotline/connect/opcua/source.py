"""OPC UA source (asyncua): subscriptions with sampling and publishing intervals, any security mode.

Values arrive as data-change notifications; the source collects them and hands them to the buffer
in batches. A value whose status is not Good becomes "no data" for its tag, never a reading. On a
lost connection the runtime records a gap and reconnects; the new subscription re-sends every
node's current value, so states resume at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.crypto import security_policies
from asyncua.ua.uaerrors import UaError, UaStringParsingError

from pilotline.connect.base import Found, Intake, Source
from pilotline.connect.opcua.config import OpcuaSource as Config
from pilotline.connect.opcua.config import OpcuaTag
from pilotline.connect.samples import Sample, now_us, to_us
from pilotline.connect.tags import BadValue
from pilotline.errors import SourceUnavailable

log = logging.getLogger(__name__)
# asyncua warns about things that are the server's business (session timeouts it shortened).
logging.getLogger("asyncua").setLevel(logging.ERROR)

_POLICIES: dict[str, Any] = {
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128Sha256RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256Sha256RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
}
_MODES = {
    "Sign": ua.MessageSecurityMode.Sign,
    "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt,
}
_FLUSH_S = 0.1


class _Handler:
    def __init__(self, source: OpcuaSource) -> None:
        self.source = source

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        self.source.pending.append((node.nodeid, val, data.monitored_item.Value))

    def status_change_notification(self, status: Any) -> None:
        self.source.lost = f"subscription status {status}"


class OpcuaSource(Source):
    config: Config

    def __init__(self, config: Config, intake: Intake) -> None:
        super().__init__(config, intake)
        self.pending: list[tuple[ua.NodeId, Any, ua.DataValue]] = []
        self.lost: str | None = None
        self._tags: dict[ua.NodeId, list[OpcuaTag]] = {}
        for t in config.tags:
            try:
                node_id = ua.NodeId.from_string(t.node)
            except (ValueError, UaStringParsingError) as exc:
                raise SourceUnavailable(
                    f"tag {t.name!r}: {t.node!r} is not a node id: {exc}"
                ) from None
            self._tags.setdefault(node_id, []).append(t)

    async def _connect(self) -> Client:
        c = self.config
        client = Client(c.url, timeout=c.timeout_s)
        client.session_timeout = 600_000  # what servers usually grant; asking for more only warns
        if c.username:
            client.set_user(c.username)
            client.set_password(c.password or "")
        try:
            if c.security != "None":
                assert c.certificate and c.private_key
                await client.set_security(
                    _POLICIES[c.policy],
                    certificate=c.certificate,
                    private_key=c.private_key,
                    server_certificate=c.server_certificate,
                    mode=_MODES[c.security],
                )
            await client.connect()
        except (OSError, TimeoutError, UaError) as exc:
            raise SourceUnavailable(
                f"cannot connect to {c.url}: {type(exc).__name__}: {exc}"
            ) from None
        return client

    def _flush(self) -> None:
        batch, self.pending = self.pending, []
        samples = []
        received = now_us()
        for node_id, val, value in batch:
            for tag in self._tags.get(node_id, []):
                self.intake.status.received += 1
                ts = value.SourceTimestamp or value.ServerTimestamp
                ts_us = to_us(ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)) if ts else received
                if value.StatusCode is not None and not value.StatusCode.is_good():
                    self.intake.reject(tag.name, "bad_quality", f"status {value.StatusCode.name}")
                    samples.append(Sample(self.config.name, tag.name, ts_us, None))
                    continue
                try:
                    samples.append(Sample(self.config.name, tag.name, ts_us, tag.convert(val)))
                except BadValue as exc:
                    self.intake.reject(tag.name, exc.kind, str(exc))
        self.intake.accept(samples)

    async def run(self) -> None:
        c = self.config
        client = await self._connect()
        self.lost = None
        try:
            sub = await client.create_subscription(
                ua.CreateSubscriptionParameters(
                    RequestedPublishingInterval=c.publishing_ms,
                    RequestedLifetimeCount=10_000,
                    RequestedMaxKeepAliveCount=10,
                    MaxNotificationsPerPublish=0,
                    Priority=0,
                ),
                _Handler(self),
            )
            nodes = [client.get_node(n) for n in self._tags]
            handles = await sub.subscribe_data_change(
                nodes, sampling_interval=ua.Double(c.sampling_ms), queuesize=100
            )
            for node, handle in zip(nodes, handles, strict=True):
                if not isinstance(handle, int):
                    for t in self._tags[node.nodeid]:
                        self.intake.reject(t.name, "unknown_node", f"{t.node}: {handle}")
            self.online(f"{len(nodes)} node(s)")
            checked = asyncio.get_running_loop().time()
            while True:
                await asyncio.sleep(_FLUSH_S)
                self._flush()
                if self.lost:
                    raise SourceUnavailable(f"lost {c.url}: {self.lost}")
                if asyncio.get_running_loop().time() - checked > 1:
                    checked = asyncio.get_running_loop().time()
                    try:
                        await client.check_connection()
                    except Exception as exc:  # asyncua raises several types for a dead link
                        raise SourceUnavailable(
                            f"lost {c.url}: {type(exc).__name__}: {exc}"
                        ) from None
        finally:
            self._flush_quietly()
            try:
                await asyncio.wait_for(client.disconnect(), 2)
            except Exception:  # the link may already be gone
                log.debug("disconnect from %s failed", c.url, exc_info=True)

    def _flush_quietly(self) -> None:
        try:
            self._flush()
        except Exception:
            log.exception("could not buffer the last values from %s", self.config.url)

    async def probe(self, seconds: float) -> list[Found]:
        client = await self._connect()
        found: list[Found] = []
        try:
            for node_id, tags in self._tags.items():
                try:
                    dv = await client.get_node(node_id).read_data_value()
                    value = dv.Value.Value if dv.Value is not None else None
                    code = dv.StatusCode.name if dv.StatusCode is not None else "Good"
                    text = f"{value!r} ({code})"
                except UaError as exc:
                    text = f"cannot read: {exc}"
                found.append(Found(node_id.to_string(), ", ".join(t.name for t in tags), text))
            mapped = {n.to_string() for n in self._tags}
            found += [
                f
                for f in await _browse(client.nodes.objects, depth=3, limit=50)
                if f.address not in mapped
            ]
        finally:
            await client.disconnect()
        return found


async def _browse(root: Node, *, depth: int, limit: int) -> list[Found]:
    """Variables under ``root`` (breadth first), to help pick node ids."""
    out: list[Found] = []
    level = [root]
    for _ in range(depth):
        nxt: list[Node] = []
        for node in level:
            for child in await node.get_children():
                if child.nodeid.NamespaceIndex == 0:
                    continue  # the server's own standard nodes
                cls = await child.read_node_class()
                if cls == ua.NodeClass.Variable:
                    name = (await child.read_browse_name()).Name
                    out.append(Found(child.nodeid.to_string(), None, f"variable {name}"))
                    if len(out) >= limit:
                        return out
                else:
                    nxt.append(child)
        level = nxt
    return out


SOURCE = OpcuaSource
