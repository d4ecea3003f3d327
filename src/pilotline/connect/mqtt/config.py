"""MQTT source settings (no driver import here)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pilotline.connect.tags import Tag


class MqttTag(Tag):
    topic: str | None = Field(
        None, description="JSON: the topic (or a filter with + and #) the value arrives on."
    )
    path: str = Field(
        "",
        description="Where the value sits in a JSON payload (e.g. data.state or values[0]); "
        "empty: the whole payload is the value.",
    )
    ts_path: str | None = Field(
        None,
        description="Where the reading's time sits (ISO 8601 or epoch seconds/milliseconds). "
        "Without it the receive time is used, and a redelivered message cannot be told from a new one.",
    )
    seq_path: str | None = Field(None, description="Where a message sequence number sits, if any.")
    group: str | None = Field(None, description="Sparkplug B: the group id.")
    edge_node: str | None = Field(None, description="Sparkplug B: the edge node id.")
    device: str | None = Field(
        None, description="Sparkplug B: the device id (none: a metric of the edge node itself)."
    )
    metric: str | None = Field(
        None, description="Sparkplug B: the metric's name (as in its birth)."
    )


class Tls(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = Field(False, description="Skip the host name check (test brokers only).")


class MqttSource(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: Literal["mqtt"] = Field(description="mqtt")
    name: str = Field(description="Unique name of the source, shown in status and logs.")
    host: str = Field("127.0.0.1", description="The broker's host name or address.")
    port: int = Field(
        1883, ge=1, le=65535, description="The broker's port (8883 is usual with TLS)."
    )
    version: Literal["3.1.1", "5"] = Field("5", description="MQTT protocol version.")
    qos: Literal[0, 1, 2] = Field(
        1, description="1 or 2 for zero loss: a message is acknowledged only once stored locally."
    )
    client_id: str | None = Field(
        None,
        description="Fixed client id, so the broker keeps the session (and queues messages) while "
        "the collector restarts. Default: pilotline-<source name>.",
    )
    session_expiry_s: int = Field(
        7 * 24 * 3600,
        ge=0,
        le=2**32 - 1,
        description="MQTT 5: how long the broker keeps the session while we are away.",
    )
    shared_group: str | None = Field(
        None,
        description="Subscribe as $share/<group>/<topic> so several collectors split the load.",
    )
    username: str | None = Field(None, description="User name, if the broker asks for one.")
    password: str | None = Field(None, description="Its password.")
    tls: Tls | None = Field(
        None, description="[source.tls]: ca_file, cert_file, key_file, insecure."
    )
    keepalive_s: int = Field(30, ge=0, le=65535, description="Seconds between keep-alive pings.")
    format: Literal["json", "sparkplug"] = Field(
        "json",
        description="json: payloads mapped by path. sparkplug: Sparkplug B (birth/data/death, "
        "aliases, sequence numbers; a rebirth is requested on a gap).",
    )
    tags: list[MqttTag] = Field(default_factory=list)

    @model_validator(mode="after")
    def _addresses(self) -> MqttSource:
        for t in self.tags:
            if self.format == "json" and not t.topic:
                raise ValueError(f"tag {t.name!r}: a JSON tag needs a topic")
            if self.format == "sparkplug" and not (t.group and t.edge_node and t.metric):
                raise ValueError(
                    f"tag {t.name!r}: a Sparkplug tag needs group, edge_node and metric"
                )
        return self

    def endpoint(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def cautions(self) -> list[str]:
        """Settings that lose messages while the collector is down (``connect test`` says them)."""
        out = []
        if self.qos == 0:
            out.append(
                "subscribes at QoS 0: the broker keeps nothing for it while the collector is "
                "down, and sends nothing lost on the way again; set qos = 1 for zero loss"
            )
        if self.version == "5" and self.session_expiry_s == 0:
            out.append(
                "session_expiry_s = 0: the broker forgets the session (and its queued messages) "
                "as soon as the collector disconnects; give the longest outage to ride out"
            )
        return out
