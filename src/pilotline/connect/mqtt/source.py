"""MQTT source (paho-mqtt): JSON payloads mapped by path, acknowledged only once buffered.

The client subscribes with a fixed client id and a persistent session (``clean_session=False`` in
3.1.1, ``clean_start=False`` with a session expiry in 5) and ``manual_ack``: the broker queues
messages while the collector is away and re-sends any message whose acknowledgement it did not get.
One worker thread drives paho's network loop and, every 20 ms or 2,000 messages, parses the batch,
writes it to the buffer in one commit and only then acknowledges each message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import time
import uuid
from collections import deque
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from pilotline.connect.base import Found, Intake, Source
from pilotline.connect.mqtt.config import MqttSource as Config
from pilotline.connect.mqtt.config import MqttTag
from pilotline.connect.mqtt.sparkplug import Sparkplug, rebirth_request, subscriptions
from pilotline.connect.paths import Missing, compile_path, extract, timestamp_us
from pilotline.connect.samples import Sample, now_us
from pilotline.connect.tags import MAX_WHOLE, BadValue
from pilotline.errors import SourceUnavailable

log = logging.getLogger(__name__)

_BATCH = 2000
_MAX_WAIT_S = 0.05


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
        self._sparkplug = (
            Sparkplug(config.name, config.tags, intake) if config.format == "sparkplug" else None
        )
        for tag in config.tags if self._sparkplug is None else []:
            route, topic = _Route(tag), tag.topic or ""
            if "+" in topic or "#" in topic:
                self._wild.append((topic, route))
            else:
                self._exact.setdefault(topic, []).append(route)
        self._queue: deque[mqtt.MQTTMessage] = deque()

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
        if self._sparkplug is not None:
            topics = subscriptions(self.config.tags)
        else:
            topics = sorted({t.topic for t in self.config.tags if t.topic})
        group = self.config.shared_group
        return [f"$share/{group}/{t}" for t in topics] if group else topics

    def _open(self, client: mqtt.Client, *, persistent: bool) -> bool:
        """Connect and wait for the broker's answer, driving the client's loop in this thread.

        Returns whether the broker still had our session.
        """
        c = self.config
        outcome: dict[str, Any] = {}

        def on_connect(_c: mqtt.Client, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
            outcome["rc"] = rc
            outcome["session"] = bool(getattr(flags, "session_present", False))

        client.on_connect = on_connect
        kwargs: dict[str, Any] = {}
        if c.version == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = c.session_expiry_s if persistent else 0
            kwargs = {"clean_start": not persistent, "properties": props}
        try:
            client.connect(c.host, c.port, c.keepalive_s, **kwargs)
        except (OSError, ssl.SSLError) as exc:
            raise SourceUnavailable(f"cannot reach the broker at {c.endpoint()}: {exc}") from None
        deadline = time.monotonic() + 10
        while "rc" not in outcome:
            rc = client.loop(0.05)
            if rc != mqtt.MQTT_ERR_SUCCESS and "rc" not in outcome:
                raise SourceUnavailable(
                    f"the broker at {c.endpoint()} closed the connection: {mqtt.error_string(rc)}"
                )
            if time.monotonic() > deadline:
                raise SourceUnavailable(f"the broker at {c.endpoint()} did not answer within 10 s")
        if outcome["rc"].is_failure:
            raise SourceUnavailable(
                f"the broker at {c.endpoint()} refused the connection: {outcome['rc']}"
            )
        return bool(outcome["session"])

    # -- streaming -------------------------------------------------------------------------------
    async def run(self) -> None:
        stop = threading.Event()
        future = asyncio.get_running_loop().run_in_executor(None, self._serve, stop)
        try:
            await asyncio.shield(future)
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await future

    def _serve(self, stop: threading.Event) -> None:
        """The network loop, parsing, buffering and acknowledging, all in one thread.

        One thread avoids handing every message (and every acknowledgement) between threads.
        """
        c = self.config
        client = self._client(persistent=True)
        client.on_message = lambda _c, _u, msg: self._queue.append(msg)
        try:
            resumed = self._open(client, persistent=True)
            rc, _ = client.subscribe([(t, int(c.qos)) for t in self._topics()])
            if rc != mqtt.MQTT_ERR_SUCCESS:
                raise SourceUnavailable(
                    f"subscribing at {c.endpoint()} failed: {mqtt.error_string(rc)}"
                )
            self.online(f"session {'resumed' if resumed else 'new'}")
            flushed = time.monotonic()
            while not stop.is_set():
                before = len(self._queue)
                rc = client.loop(0.005)
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    raise SourceUnavailable(
                        f"lost the broker at {c.endpoint()}: {mqtt.error_string(rc)}"
                    )
                # Flush when the batch is full, old, or nothing more came: a broker that allows
                # only a few unacknowledged messages in flight is then not kept waiting.
                waiting = len(self._queue)
                if waiting and (
                    waiting >= _BATCH
                    or waiting == before
                    or time.monotonic() - flushed > _MAX_WAIT_S
                ):
                    self._drain(client)
                    flushed = time.monotonic()
        finally:
            self._queue.clear()  # not acknowledged: the broker sends them again
            with contextlib.suppress(Exception):
                client.disconnect()
            self.intake.buffer.close()

    def _drain(self, client: mqtt.Client) -> None:
        while self._queue:
            batch = [self._queue.popleft() for _ in range(min(_BATCH, len(self._queue)))]
            self.take(batch)  # durable now (or an exception: nothing acknowledged)
            for msg in batch:
                if msg.qos:
                    client.ack(msg.mid, msg.qos)
            if self._sparkplug is not None and self._sparkplug.rebirths:
                for group, edge_node in self._sparkplug.rebirths:
                    client.publish(*rebirth_request(group, edge_node), qos=0)
                self._sparkplug.rebirths.clear()

    def take(self, batch: list[mqtt.MQTTMessage]) -> None:
        """Turn a batch of messages into samples and store them durably in one commit.

        What one message holds is that message's problem, never the source's: a message that
        fails in a way nothing foresaw is kept as a dead letter, and a sample the buffer cannot
        hold goes there too (see :class:`~pilotline.connect.buffer.Buffer`); either way the
        message is acknowledged afterwards and not sent again.
        """
        samples: list[Sample] = []
        for msg in batch:
            try:
                samples += self._samples(msg)
            except Exception as exc:  # a message no rule foresaw: this message, not the source
                self.intake.unreadable(msg.topic, bytes(msg.payload), exc)
        self.intake.status.received += len(batch)
        self.intake.accept(samples)

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
        if self._sparkplug is not None:
            return self._sparkplug.handle(topic, bytes(msg.payload), now_us())
        routes = self._routes(topic)
        if not routes:
            intake.reject(topic, "unknown_topic", "no tag listens on this topic")
            return []
        try:
            doc = orjson.loads(msg.payload)
        except orjson.JSONDecodeError as exc:
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
                seq = sequence(extract(doc, r.seq)) if r.seq else 0
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
        return await asyncio.to_thread(self._probe, seconds)

    def _probe(self, seconds: float) -> list[Found]:
        client = self._client(persistent=False)
        seen: dict[str, bytes] = {}

        def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
            seen[msg.topic] = bytes(msg.payload)

        client.on_message = on_message
        self._open(client, persistent=False)
        try:
            client.subscribe("#", 0)
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                client.loop(0.05)
        finally:
            client.disconnect()
        found = []
        for topic in sorted(seen):
            text = seen[topic][:120].decode("utf-8", "replace")
            tags = [r.tag.name for r in self._routes(topic)]
            found.append(Found(topic, ", ".join(tags) or None, text))
        return found


def sequence(raw: Any) -> int:
    """A message's sequence number: a whole number from 0 to 2⁶³ − 1."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise BadValue("wrong_type", f"a sequence number is a whole number, got {raw!r:.40}")
    number = int(raw)  # ValueError or OverflowError: counted as wrong_type
    if not 0 <= number <= MAX_WHOLE:
        raise BadValue("out_of_range", f"a sequence number goes from 0 to {MAX_WHOLE:,}")
    return number


SOURCE = MqttSource
