"""The file schemas Pilotline imports, as data. ``docs/file-schemas.md`` is generated from these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["text", "timestamp", "count", "state"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool
    help: str
    example: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileSchema:
    kind: str
    title: str
    help: str
    columns: tuple[Column, ...]
    example_rows: tuple[tuple[str, ...], ...] = field(default=())

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


_MACHINE = Column(
    "machine",
    "text",
    True,
    "Machine id as in plant.toml.",
    "press-1",
    ("machine_id", "asset", "equipment", "resource"),
)
_TS = Column(
    "ts",
    "timestamp",
    True,
    "When it happened: ISO 8601 with a UTC offset (2026-03-02T06:00:00+00:00), or local plant "
    "time without an offset (read in the site's time zone), or any format given by "
    "--timestamp-format.",
    "2026-03-02T06:00:00+00:00",
    ("timestamp", "time", "datetime", "date_time"),
)

#: Accepted spellings of machine states.
STATE_WORDS: dict[str, str] = {
    "running": "running",
    "run": "running",
    "up": "running",
    "producing": "running",
    "1": "running",
    "true": "running",
    "on": "running",
    "stopped": "stopped",
    "stop": "stopped",
    "down": "stopped",
    "idle": "stopped",
    "0": "stopped",
    "false": "stopped",
    "off": "stopped",
    "no_data": "no_data",
    "no data": "no_data",
    "unknown": "no_data",
    "offline": "no_data",
}

SCHEMAS: dict[str, FileSchema] = {
    s.kind: s
    for s in (
        FileSchema(
            "states",
            "Machine states",
            "One row per state change. A state lasts until the machine's next row (or until "
            "`end` when given). Stops carry an optional reason code from plant.toml.",
            (
                _MACHINE,
                Column(
                    _TS.name,
                    "timestamp",
                    True,
                    "When the state began. " + _TS.help.split(": ", 1)[1],
                    _TS.example,
                    (*_TS.aliases, "start", "start_time", "from"),
                ),
                Column(
                    "state",
                    "state",
                    True,
                    "running, stopped or no_data (also accepted: run/up/1/on, stop/down/idle/0/off, unknown/offline).",
                    "stopped",
                    ("status", "machine_state"),
                ),
                Column(
                    "reason",
                    "text",
                    False,
                    "Reason code for a stop (see plant.toml [reasons]).",
                    "changeover",
                    ("stop_reason", "reason_code", "cause"),
                ),
                Column(
                    "end",
                    "timestamp",
                    False,
                    "When the state ended, if known; the time up to the next state is then 'no data'.",
                    "",
                    ("end_ts", "end_time", "to", "until"),
                ),
            ),
            (
                ("press-1", "2026-03-02T06:00:00+00:00", "running", ""),
                ("press-1", "2026-03-02T07:12:30+00:00", "stopped", "changeover"),
                ("press-1", "2026-03-02T07:40:00+00:00", "running", ""),
            ),
        ),
        FileSchema(
            "counts",
            "Part counts",
            "Parts made since the previous row of the same machine (increments), for example one "
            "row per minute. `reject` parts are part of `total`.",
            (
                _MACHINE,
                _TS,
                Column(
                    "total",
                    "count",
                    True,
                    "Parts made (good and bad) in the interval.",
                    "58",
                    ("count", "parts", "quantity", "produced"),
                ),
                Column(
                    "reject",
                    "count",
                    False,
                    "Of those, parts not good (scrap or rework). Default 0.",
                    "1",
                    ("rejects", "scrap", "bad"),
                ),
                Column(
                    "rework",
                    "count",
                    False,
                    "Of the rejects, parts that can be reworked. Default 0.",
                    "0",
                    (),
                ),
                Column(
                    "product",
                    "text",
                    False,
                    "Product id (plant.toml [[products]]).",
                    "BRK-100",
                    ("product_id", "article", "part_number"),
                ),
                Column(
                    "work_order", "text", False, "Work order id.", "WO-1001", ("order", "order_id")
                ),
                Column(
                    "reject_reason",
                    "text",
                    False,
                    "Why parts were rejected (e.g. startup reject).",
                    "",
                    ("scrap_reason",),
                ),
            ),
            (
                ("press-1", "2026-03-02T06:01:00+00:00", "58", "1"),
                ("press-1", "2026-03-02T06:02:00+00:00", "60", "0"),
            ),
        ),
        FileSchema(
            "counters",
            "Raw PLC counters",
            "Cumulative counter readings as a PLC holds them. Pilotline turns them into increments: "
            "a counter that drops by more than half its range wrapped (give --counter-bits 16 or "
            "32); any other drop is a reset (for example at shift start) and counting restarts from 0.",
            (
                _MACHINE,
                _TS,
                Column(
                    "counter",
                    "count",
                    True,
                    "Cumulative good-and-bad part counter.",
                    "40211",
                    ("total_counter", "part_counter"),
                ),
                Column(
                    "reject_counter",
                    "count",
                    False,
                    "Cumulative reject counter.",
                    "17",
                    ("scrap_counter",),
                ),
            ),
            (
                ("press-1", "2026-03-02T06:01:00+00:00", "65500", "3"),
                ("press-1", "2026-03-02T06:02:00+00:00", "22", "3"),
            ),
        ),
        FileSchema(
            "reasons",
            "Operator-entered reasons",
            "A reason an operator gave for the stops in a time window. A stop that begins inside "
            "the window takes this reason, overriding the machine's own. Where entries overlap, "
            "the later entry wins on the overlap; nothing is counted twice.",
            (
                _MACHINE,
                Column(
                    "start",
                    "timestamp",
                    True,
                    "Start of the window.",
                    "2026-03-02T07:12:00+00:00",
                    ("start_ts", "from"),
                ),
                Column(
                    "end",
                    "timestamp",
                    True,
                    "End of the window.",
                    "2026-03-02T07:45:00+00:00",
                    ("end_ts", "to", "until"),
                ),
                Column(
                    "reason", "text", True, "Reason code.", "die change", ("reason_code", "cause")
                ),
                Column(
                    "entered_by",
                    "text",
                    False,
                    "Who entered it.",
                    "operator 7",
                    ("operator", "user"),
                ),
            ),
            (("press-1", "2026-03-02T07:12:00+00:00", "2026-03-02T07:45:00+00:00", "die change"),),
        ),
        FileSchema(
            "orders",
            "Work orders",
            "Which order (and product) ran on which machine when. Counts without a product take "
            "the product of the order running at the time.",
            (
                Column(
                    "work_order", "text", True, "Work order id.", "WO-1001", ("order", "order_id")
                ),
                _MACHINE,
                Column(
                    "product", "text", False, "Product id.", "BRK-100", ("product_id", "article")
                ),
                Column(
                    "start",
                    "timestamp",
                    True,
                    "Order start on the machine.",
                    "2026-03-02T06:00:00+00:00",
                    ("start_ts", "from"),
                ),
                Column(
                    "end",
                    "timestamp",
                    False,
                    "Order end (empty while running).",
                    "",
                    ("end_ts", "to", "until"),
                ),
                Column(
                    "quantity", "count", False, "Ordered quantity.", "5000", ("qty", "planned_qty")
                ),
            ),
            (("WO-1001", "press-1", "BRK-100", "2026-03-02T06:00:00+00:00", "", "5000"),),
        ),
    )
}


def guess_kind(headers: list[str]) -> str | None:
    """The schema whose required columns (or their aliases) all appear in ``headers``."""
    norm = {h.strip().lower() for h in headers}
    fits = []
    for schema in SCHEMAS.values():
        if all(
            c.name in norm or any(a in norm for a in c.aliases)
            for c in schema.columns
            if c.required
        ):
            fits.append(schema.kind)
    return fits[0] if len(fits) == 1 else None
