"""OPC UA source settings (no driver import here)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pilotline.connect.tags import Tag


class OpcuaTag(Tag):
    node: str = Field(description="Node id, e.g. ns=2;s=Press1.State or ns=2;i=1007.")


class OpcuaSource(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: Literal["opcua"] = Field(description="opcua")
    name: str = Field(description="Unique name of the source, shown in status and logs.")
    url: str = Field(description="opc.tcp://host:4840/path")
    security: Literal["None", "Sign", "SignAndEncrypt"] = Field(
        "None", description="Message security mode."
    )
    policy: Literal["Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"] = Field(
        "Basic256Sha256", description="Security policy when security is Sign or SignAndEncrypt."
    )
    certificate: str | None = Field(None, description="Our client certificate (PEM or DER).")
    private_key: str | None = Field(None, description="Its private key (PEM).")
    server_certificate: str | None = Field(None, description="The server's certificate, to trust.")
    username: str | None = Field(None, description="User name, if the server asks for one.")
    password: str | None = Field(None, description="Its password.")
    sampling_ms: float = Field(
        100, ge=0, le=3_600_000, description="How often the server samples each node."
    )
    publishing_ms: float = Field(
        500, ge=1, le=3_600_000, description="How often the server sends changes."
    )
    timeout_s: float = Field(5.0, gt=0, le=300, description="Seconds to wait for an answer.")
    tags: list[OpcuaTag] = Field(default_factory=list)

    @model_validator(mode="after")
    def _certs(self) -> OpcuaSource:
        if self.security != "None" and not (self.certificate and self.private_key):
            raise ValueError(f"security {self.security} needs certificate and private_key")
        return self

    def endpoint(self) -> str:
        return self.url
