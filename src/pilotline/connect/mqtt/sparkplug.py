"""Sparkplug B over MQTT, decoded with protobuf from the published Eclipse Tahu schema.

An edge node announces its metrics in a birth message (NBIRTH, and DBIRTH per device) with names,
types and aliases; data messages (NDATA/DDATA) may carry only aliases. Every message of an edge
node carries a sequence number 0–255 that goes up by one. This module keeps each node's aliases
and expected sequence number, turns data into samples, and asks for a rebirth (an NCMD with
``Node Control/Rebirth = true``) when a number is skipped or an alias is unknown. A death
message (NDEATH/DDEATH) is "no data" for the tags of that node or device.

The schema is ``sparkplug_b.proto`` (``org.eclipse.tahu.protobuf.Payload``), built here as a
descriptor so that no generated code is needed; parts this collector does not read (metadata,
property sets, data sets, templates) are left out and skipped by the parser as unknown fields.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from pilotline import clock
from pilotline.connect.base import Intake
from pilotline.connect.mqtt.config import MqttTag
from pilotline.connect.samples import Sample
from pilotline.connect.tags import BadValue

REBIRTH = "Node Control/Rebirth"
REBIRTH_EVERY_S = 5.0
NAMESPACE = "spBv1.0"

# Sparkplug B data types (spec §6.4.16) used for plain values.
INT8, INT16, INT32, INT64 = 1, 2, 3, 4
UINT8, UINT16, UINT32, UINT64 = 5, 6, 7, 8
FLOAT, DOUBLE, BOOLEAN, STRING, DATETIME, TEXT = 9, 10, 11, 12, 13, 14
_SIGNED_BITS = {INT8: 8, INT16: 16, INT32: 32, INT64: 64}


def _schema() -> Any:
    F = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="pilotline_sparkplug_b.proto", package="org.eclipse.tahu.protobuf", syntax="proto2"
    )
    payload = proto.message_type.add(name="Payload")
    metric = payload.nested_type.add(name="Metric")
    metric.oneof_decl.add(name="value")
    for name, number, kind in (
        ("name", 1, F.TYPE_STRING),
        ("alias", 2, F.TYPE_UINT64),
        ("timestamp", 3, F.TYPE_UINT64),
        ("datatype", 4, F.TYPE_UINT32),
        ("is_historical", 5, F.TYPE_BOOL),
        ("is_transient", 6, F.TYPE_BOOL),
        ("is_null", 7, F.TYPE_BOOL),
    ):
        metric.field.add(name=name, number=number, type=kind, label=F.LABEL_OPTIONAL)
    for name, number, kind in (
        ("int_value", 10, F.TYPE_UINT32),
        ("long_value", 11, F.TYPE_UINT64),
        ("float_value", 12, F.TYPE_FLOAT),
        ("double_value", 13, F.TYPE_DOUBLE),
        ("boolean_value", 14, F.TYPE_BOOL),
        ("string_value", 15, F.TYPE_STRING),
        ("bytes_value", 16, F.TYPE_BYTES),
    ):
        metric.field.add(name=name, number=number, type=kind, label=F.LABEL_OPTIONAL, oneof_index=0)
    payload.field.add(name="timestamp", number=1, type=F.TYPE_UINT64, label=F.LABEL_OPTIONAL)
    payload.field.add(
        name="metrics",
        number=2,
        type=F.TYPE_MESSAGE,
        label=F.LABEL_REPEATED,
        type_name=".org.eclipse.tahu.protobuf.Payload.Metric",
    )
    payload.field.add(name="seq", number=3, type=F.TYPE_UINT64, label=F.LABEL_OPTIONAL)
    payload.field.add(name="uuid", number=4, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    payload.field.add(name="body", number=5, type=F.TYPE_BYTES, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("org.eclipse.tahu.protobuf.Payload")
    )


Payload = _schema()


def metric_value(metric: Any, datatype: int) -> Any:
    """A metric's value as Python, by its Sparkplug data type (signed integers restored)."""
    if metric.is_null:
        return None
    which = metric.WhichOneof("value")
    if which is None:
        return None
    value = getattr(metric, which)
    bits = _SIGNED_BITS.get(datatype)
    if bits and which in ("int_value", "long_value"):
        width = 64 if which == "long_value" else 32
        if value >= 1 << (width - 1):
            value -= 1 << width  # two's complement in the field's width (Tahu's encoders)
        elif bits < width and value >= 1 << (bits - 1):
            value -= 1 << bits  # two's complement in the type's own width (some devices)
    return value


@dataclass
class _Node:
    expected: int | None = None  # the next sequence number, once a birth was seen
    aliases: dict[str | None, dict[int, tuple[str, int]]] = field(default_factory=dict)
    types: dict[str | None, dict[str, int]] = field(default_factory=dict)
    asked_at: float = -1e9


def subscriptions(tags: list[MqttTag]) -> list[str]:
    nodes = sorted({(t.group, t.edge_node) for t in tags})
    return [f"{NAMESPACE}/{g}/+/{e}{suffix}" for g, e in nodes for suffix in ("", "/+")]


class Sparkplug:
    def __init__(self, source: str, tags: list[MqttTag], intake: Intake) -> None:
        self.source = source
        self.intake = intake
        self.tags: dict[tuple[str, str, str | None, str], list[MqttTag]] = {}
        for t in tags:
            if t.group and t.edge_node and t.metric:
                self.tags.setdefault((t.group, t.edge_node, t.device, t.metric), []).append(t)
        self.nodes: dict[tuple[str, str], _Node] = {}
        self.rebirths: list[tuple[str, str]] = []  # nodes to ask, published by the source

    def handle(self, topic: str, payload: bytes, received_us: int) -> list[Sample]:
        parts = topic.split("/")
        if len(parts) not in (4, 5) or parts[0] != NAMESPACE:
            self.intake.reject(topic, "unknown_topic", "not a Sparkplug B topic")
            return []
        _, group, kind, edge = parts[:4]
        device = parts[4] if len(parts) == 5 else None
        if kind not in ("NBIRTH", "DBIRTH", "NDATA", "DDATA", "NDEATH", "DDEATH"):
            return []  # commands and host state are not readings
        key = (group, edge)
        node = self.nodes.setdefault(key, _Node())
        where = f"{group}/{edge}" + (f"/{device}" if device else "")
        try:
            message = Payload.FromString(payload)
        except DecodeError as exc:
            self.intake.reject(where, "bad_payload", f"not a Sparkplug B payload: {exc}")
            return []
        if kind.endswith("DEATH"):
            return self._death(key, node, device, received_us)
        seq = int(message.seq)
        if kind == "NBIRTH":
            node.aliases, node.types = {}, {}
            node.asked_at = -1e9  # after a birth, a new problem deserves a new request
        elif node.expected is None or seq != node.expected:
            expected = node.expected
            self.intake.reject(
                where,
                "sequence_gap",
                f"sequence number {seq}, expected {expected}"
                if expected is not None
                else "data from a node whose birth was not seen",
            )
            self._ask(key, node)
        node.expected = (seq + 1) % 256
        if kind.endswith("BIRTH"):
            node.aliases[device] = {
                int(m.alias): (m.name, int(m.datatype))
                for m in message.metrics
                if m.HasField("alias")
            }
            node.types[device] = {m.name: int(m.datatype) for m in message.metrics}
        elif device not in node.types:
            self.intake.reject(where, "no_birth", "data before its birth: names and types unknown")
            self._ask(key, node)
            return []
        return self._samples(key, node, device, message, seq, received_us)

    def _samples(
        self,
        key: tuple[str, str],
        node: _Node,
        device: str | None,
        message: Any,
        seq: int,
        received_us: int,
    ) -> list[Sample]:
        out = []
        aliases = node.aliases.get(device, {})
        types = node.types.get(device, {})
        for metric in message.metrics:
            name = metric.name if metric.HasField("name") else None
            if name is None:
                known = aliases.get(int(metric.alias)) if metric.HasField("alias") else None
                if known is None:
                    self.intake.reject(
                        f"{key[0]}/{key[1]}",
                        "unknown_alias",
                        f"alias {metric.alias} not in the birth",
                    )
                    self._ask(key, node)
                    continue
                name = known[0]
            tags = self.tags.get((key[0], key[1], device, name))
            if not tags:
                continue
            datatype = int(metric.datatype) if metric.HasField("datatype") else types.get(name, 0)
            stamp = metric.timestamp if metric.HasField("timestamp") else message.timestamp
            ts = int(stamp) * 1000 if stamp else received_us
            raw = metric_value(metric, datatype)
            for tag in tags:
                try:
                    value = tag.convert(raw)
                except BadValue as exc:
                    self.intake.reject(tag.name, exc.kind, str(exc))
                    continue
                out.append(Sample(self.source, tag.name, ts, value, seq))
        return out

    def _death(
        self, key: tuple[str, str], node: _Node, device: str | None, received_us: int
    ) -> list[Sample]:
        if device is None:
            node.expected = None
            node.aliases, node.types = {}, {}
        else:
            node.aliases.pop(device, None)
            node.types.pop(device, None)
        dead = [
            tags
            for (g, e, d, _), tags in self.tags.items()
            if (g, e) == key and (device is None or d == device)
        ]
        return [Sample(self.source, t.name, received_us, None) for tags in dead for t in tags]

    def _ask(self, key: tuple[str, str], node: _Node) -> None:
        now = time.monotonic()
        if now - node.asked_at >= REBIRTH_EVERY_S:
            node.asked_at = now
            self.rebirths.append(key)


def encode(
    metrics: list[dict[str, Any]], *, seq: int | None = None, timestamp: int | None = None
) -> bytes:
    """A Sparkplug B payload; each metric a dict of Metric fields (name, alias, datatype, a *_value)."""
    message = Payload(timestamp=timestamp if timestamp is not None else clock.now_us() // 1000)
    if seq is not None:
        message.seq = seq
    for m in metrics:
        message.metrics.add(**m)
    return bytes(message.SerializeToString())


def rebirth_request(group: str, edge_node: str) -> tuple[str, bytes]:
    """The NCMD topic and payload that ask an edge node to send its births again."""
    payload = encode([{"name": REBIRTH, "datatype": BOOLEAN, "boolean_value": True}])
    return f"{NAMESPACE}/{group}/NCMD/{edge_node}", payload
