"""A small MQTT publisher (paho-mqtt) for the live simulator: JSON payloads, QoS 1."""

from __future__ import annotations

from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pilotline.errors import SourceUnavailable


class Publisher:
    def __init__(self, host: str, port: int, *, client_id: str = "pilotline-simulator") -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        try:
            self.client.connect(host, port)
        except OSError as exc:
            raise SourceUnavailable(
                f"cannot reach the broker at mqtt://{host}:{port}: {exc}"
            ) from None
        self.client.loop_start()

    def publish(self, topic: str, payload: dict[str, Any], *, retain: bool = False) -> None:
        self.client.publish(topic, orjson.dumps(payload), qos=1, retain=retain)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
