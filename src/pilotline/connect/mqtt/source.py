"""MQTT source (paho-mqtt): JSON payloads mapped by path, acknowledged only once buffered.

The client subscribes with a fixed client id and a persistent session (``clean_session=False`` in
3.1.1, ``clean_start=False`` with a session expiry in 5) and ``manual_ack``: the broker queues
messages while the collector is away and re-sends any message whose acknowledgement it did not get.
paho's network loop runs in its own thread and queues messages; :meth:`MqttSource.run` drains the
queue in batches, writes each batch to the buffer in one commit and then acknowledges it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import threading
import uuid
from collections import deque
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from pilotline.connect.base import Found, Intake, Source
from pilotline.connect.mqtt.config import MqttSource as Config
from pilotline.connect.mqtt.config import MqttTag
from pilotline.connect.paths import Missing, compile_path, extract, timestamp_us
from pilotline.connect.samples import Sample, now_us
from pilotline.connect.tags import BadValue
from pilotline.errors import SourceUnavailable

log = logging.getLogger(__name__)

_BATCH = 2000


class _Route:
    def __init__(self, tag: MqttTag) -> None:
        self.tag = tag
        self.path = compile_path(tag.path)
        self.ts = compile_path(tag.ts_path) if tag.ts_path else None
        self.seq = compile_path(tag.seq_path) if tag.seq_path else None


class MqttSource(Source):
    config: Config

    def __init__(self, config: Config, intake: Intake) -> None:
        super().__init__(config, intake)
        self._exact: dict[str, list[_Route]] = {}
        self._wild: list[tuple[str, _Route]] = []
        for tag in config.tags:
            route = _Route(tag)
            if "+" in tag.topic or "#" in tag.topic:
                self._wild.append((tag.topic, route))
            else:
                self._exact.setdefault(tag.topic, []).append(route)
        self._queue: deque[mqtt.MQTTMessage] = deque()
        self._wake = threading.Event()

    # -- the client --------------------------------------------------------------------------
    def _client(self, *, persistent: bool) -> mqtt.Client:
        c = self.config
        v5 = c.version == "5"
        client_id = (
            (c.client_id or f"pilotline-{c.name}")
            if persistent
            else f"pilotline-probe-{uuid.uuid4().hex[:8]}"
        )
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else not persistent,
            manual_ack=persistent,
        )
        if c.username is not None:
            client.username_pw_set(c.username, c.password)
        if c.tls is not None:
            client.tls_set(
                ca_certs=c.tls.ca_file,
                certfile=c.tls.cert_file,
                keyfile=c.tls.key_file,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            client.tls_insecure_set(c.tls.insecure)
        return client

    def _topics(self) -> list[str]:
        topics = sorted({t.topic for t in self.config.tags})
        group = self.config.shared_group
        return [f"$share/{group}/{t}" for t in topics] if group else topics

    async def _connect(self, client: mqtt.Client, *, persistent: bool) -> None:
        c = self.config
        connected = threading.Event()
        outcome: dict[str, Any] = {}

        def on_connect(cl: mqtt.Client, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
            outcome["rc"] = rc
            outcome["session"] = getattr(flags, "session_present", False)
            connected.set()

        def on_disconnect(cl: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            outcome.setdefault("rc", rc)
            outcome["lost"] = str(rc)
            connected.set()
            self._wake.set()

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        self._outcome = outcome
        props = None
        kwargs: dict[str, Any] = {}
        if c.version == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = c.session_expiry_s if persistent else 0
            kwargs = {"clean_start": not persistent, "properties": props}
        try:
            await asyncio.to_thread(client.connect, c.host, c.port, c.keepalive_s, **kwargs)
        except (OSError, ssl.SSLError) as exc:
            raise SourceUnavailable(f"cannot reach the broker at {c.endpoint()}: {exc}") from None
        client.loop_start()
        ok = await asyncio.to_thread(connected.wait, 10)
        rc = outcome.get("rc")
        if not ok or rc is None or rc.is_failure or "lost" in outcome:
            client.loop_stop()
            why = "no answer within 10 s" if not ok else str(rc)
            raise SourceUnavailable(f"the broker at {c.endpoint()} refused the connection: {why}")

    # -- streaming -------------------------------------------------------------------------------
    async def run(self) -> None:
        c = self.config
        client = self._client(persistent=True)

        def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
            self._queue.append(msg)
            if len(self._queue) >= _BATCH:
                self._wake.set()

        client.on_message = on_message
        await self._connect(client, persistent=True)
        try:
            rc, _ = client.subscribe([(t, int(c.qos)) for t in self._topics()])
            if rc != mqtt.MQTT_ERR_SUCCESS:
                raise SourceUnavailable(
                    f"subscribing at {c.endpoint()} failed: {mqtt.error_string(rc)}"
                )
            self.online(f"session {'resumed' if self._outcome.get('session') else 'new'}")
            while True:
                await asyncio.to_thread(self._wake.wait, 0.02)
                self._wake.clear()
                self._drain(client)
                if "lost" in self._outcome:
                    raise SourceUnavailable(
                        f"lost the broker at {c.endpoint()}: {self._outcome['lost']}"
                    )
        finally:
            client.on_message = None
            client.disconnect()
            client.loop_stop()
            self._queue.clear()  # unacknowledged: the broker sends them again

    def _drain(self, client: mqtt.Client) -> None:
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(_BATCH, len(self._queue)))]
            samples: list[Sample] = []
            for msg in batch:
                samples += self._samples(msg)
            self.intake.status.received += len(batch)
            self.intake.accept(samples)  # durable now (or BufferFull: nothing acknowledged)
            for msg in batch:
                if msg.qos:
                    client.ack(msg.mid, msg.qos)

    def _routes(self, topic: str) -> list[_Route]:
        routes = self._exact.get(topic, [])
        if self._wild:
            routes = routes + [r for f, r in self._wild if mqtt.topic_matches_sub(f, topic)]
        return routes

    def _samples(self, msg: mqtt.MQTTMessage) -> list[Sample]:
        intake = self.intake
        topic = msg.topic
        if len(msg.payload) > intake.max_payload:
            intake.reject(
                topic, "oversize", f"{len(msg.payload)} bytes, limit {intake.max_payload}"
            )
            return []
        routes = self._routes(topic)
        if not routes:
            intake.reject(topic, "unknown_topic", "no tag listens on this topic")
            return []
        try:
            doc = json.loads(msg.payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            intake.reject(topic, "bad_json", str(exc))
            return []
        received = now_us()
        out = []
        for r in routes:
            tag = r.tag
            try:
                value = tag.convert(extract(doc, r.path))
                try:
                    ts = timestamp_us(extract(doc, r.ts)) if r.ts else received
                except (ValueError, OverflowError) as exc:
                    raise BadValue("bad_time", str(exc)) from None
                seq = int(extract(doc, r.seq)) if r.seq else 0
            except Missing as exc:
                intake.reject(tag.name, "missing_field", f"nothing at {exc}")
                continue
            except BadValue as exc:
                intake.reject(tag.name, exc.kind, str(exc))
                continue
            except (ValueError, TypeError, OverflowError) as exc:
                intake.reject(tag.name, "wrong_type", str(exc))
                continue
            out.append(Sample(self.config.name, tag.name, ts, value, seq))
        return out

    # -- connect test ----------------------------------------------------------------------------
    async def probe(self, seconds: float) -> list[Found]:
        client = self._client(persistent=False)
        seen: dict[str, bytes] = {}

        def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
            seen[msg.topic] = bytes(msg.payload)

        client.on_message = on_message
        await self._connect(client, persistent=False)
        try:
            client.subscribe("#", 0)
            await asyncio.sleep(seconds)
        finally:
            client.disconnect()
            client.loop_stop()
        found = []
        for topic in sorted(seen):
            text = seen[topic][:120].decode("utf-8", "replace")
            tags = [r.tag.name for r in self._routes(topic)]
            found.append(Found(topic, ", ".join(tags) or None, text))
        return found


SOURCE = MqttSource
