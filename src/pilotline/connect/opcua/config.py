"""OPC UA source settings (no driver import here)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pilotline.connect.tags import Tag


class OpcuaTag(Tag):
    node: str = Field(description="Node id, e.g. ns=2;s=Press1.State or ns=2;i=1007.")


class OpcuaSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["opcua"]
    name: str
    url: str = Field(description="opc.tcp://host:4840/path")
    security: Literal["None", "Sign", "SignAndEncrypt"] = "None"
    policy: Literal["Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"] = (
        "Basic256Sha256"
    )
    certificate: str | None = Field(None, description="Our client certificate (PEM or DER).")
    private_key: str | None = Field(None, description="Its private key (PEM).")
    server_certificate: str | None = Field(None, description="The server's certificate, to trust.")
    username: str | None = None
    password: str | None = None
    sampling_ms: float = Field(100, ge=0, description="How often the server samples each node.")
    publishing_ms: float = Field(500, gt=0, description="How often the server sends changes.")
    timeout_s: float = Field(5.0, gt=0)
    tags: list[OpcuaTag] = Field(default_factory=list)

    @model_validator(mode="after")
    def _certs(self) -> OpcuaSource:
        if self.security != "None" and not (self.certificate and self.private_key):
            raise ValueError(f"security {self.security} needs certificate and private_key")
        return self

    def endpoint(self) -> str:
        return self.url
