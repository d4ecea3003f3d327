"""Modbus TCP source settings (no driver import here)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pilotline.connect.tags import Tag

Register = Literal["holding", "input", "coil", "discrete"]
DataType = Literal["int16", "uint16", "int32", "uint32", "float32", "float64", "bool"]

WORDS: dict[str, int] = {
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "float64": 4,
    "bool": 1,
}


class ModbusTag(Tag):
    register_type: Register = Field(
        "holding", description="holding, input, coil or discrete (input)."
    )
    address: int = Field(ge=0, le=65535, description="0-based register or coil address.")
    type: DataType = Field("uint16", description="How the register words are read.")
    word_order: Literal["big", "little"] = Field(
        "big", description="For 32/64-bit values: big = most significant word first."
    )
    byte_order: Literal["big", "little"] = Field(
        "big", description="Byte order inside each 16-bit word (big is the Modbus standard)."
    )
    unit: int | None = Field(None, ge=0, le=255, description="Unit id; default: the source's unit.")

    @model_validator(mode="after")
    def _bits(self) -> ModbusTag:
        if self.register_type in ("coil", "discrete") and self.type != "bool":
            self.type = "bool"
        if self.register_type in ("holding", "input") and self.type == "bool":
            raise ValueError("a register holds a number: use int16/uint16/… (bool is for coils)")
        return self

    @property
    def words(self) -> int:
        return WORDS[self.type]


class ModbusSource(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: Literal["modbus"] = Field(description="modbus")
    name: str = Field(
        description="Unique name of the source (the device), shown in status and logs."
    )
    host: str = Field("127.0.0.1", description="The device's (or gateway's) host name or address.")
    port: int = Field(502, ge=1, le=65535, description="Its TCP port.")
    unit: int = Field(1, ge=0, le=255, description="Default unit id (slave id) of the device.")
    poll_s: float = Field(1.0, ge=0.01, le=86400, description="Poll interval in seconds.")
    timeout_s: float = Field(3.0, gt=0, le=300, description="Seconds to wait for an answer.")
    tags: list[ModbusTag] = Field(default_factory=list)

    def endpoint(self) -> str:
        return f"modbus://{self.host}:{self.port}"
