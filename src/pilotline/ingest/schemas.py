"""The file schemas Pilotline imports, as data. ``docs/file-schemas.md`` is generated from these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pilotline.ingest.parse import PLAUSIBLE_YEARS
from pilotline.ingest.reader import MAX_HEADER_BYTES, MAX_XLSX_BYTES

ColumnType = Literal["text", "timestamp", "count", "state"]

#: No count column holds more than this in one row (a trillion parts); the per-interval check
#: against the machine's ideal cycle time is usually much tighter.
MAX_PARTS = 10**12
#: A count more than this many times what the machine makes at its ideal cycle time in the
#: interval is refused: the ideal cycle time may be a little off (performance above 100 % is
#: flagged, not refused), but not by this much.
SPEED_MARGIN = 10
#: Parts always allowed in an interval, however short (a count read just after the one before).
SLACK_PARTS = 10
#: The interval assumed for a machine's first row when nothing tells how long it was.
FIRST_INTERVAL_S = 86_400.0

#: What every import checks, as the reference says it (docs/file-schemas.md).
IMPORT_CHECKS: tuple[str, ...] = (
    "Text is UTF-8. A file in another encoding (Latin-1, Windows-1252) is refused with the row "
    "and byte where it stops being UTF-8; save it as 'CSV UTF-8' (a byte-order mark is fine). A first row longer than "
    f"{MAX_HEADER_BYTES >> 20} MiB without a line break is refused.",
    "Two columns with one name (ignoring case) are refused, naming both; so is a value right "
    "of the last named column of a sheet.",
    "Every CSV row has one cell per header column; a row with more or fewer is refused with its "
    "row. Blank lines and rows are skipped, and the rows after them keep the numbers a "
    "spreadsheet shows.",
    f"A count is a whole number from 0 to {MAX_PARTS:,} (`12`, `12.0` and `1e3` are read; a "
    "counter reading goes up to 2^bits − 1 for a counter of that width, else 2⁶³ − 1). NaN, "
    "infinity, negative, fractional and larger numbers are refused at their cell; nothing is "
    "ever cast unchecked.",
    f"A count more than {SPEED_MARGIN} × what its machine makes at its shortest ideal cycle time "
    f"(plus {SLACK_PARTS} parts) in the time since the machine's row before is refused at its "
    "row; for a machine's first row the interval is the next row's, and at least "
    f"{FIRST_INTERVAL_S / 3600:.0f} hours. The parts a raw counter's readings add up to are "
    "checked the same way.",
    "Timestamps before 1970 or more than a year after now are refused. Timestamps after now, or "
    f"more than {PLAUSIBLE_YEARS} years old, are stored with a warning naming the first.",
    f"An Excel workbook that would unpack to more than {MAX_XLSX_BYTES >> 20} MiB is refused "
    "before it is read; save a sheet that large as CSV or Parquet.",
    "With many problems, the message says how many there are in all and lists the first. "
    "Every problem is found in one pass: columns that cannot be placed do not hide the rows' "
    "problems (an unknown machine, a bad time) behind them.",
    "In a ';' separated CSV file (as German and French Excel save one), counts may use a "
    "decimal comma and thousands points: `12,0` and `1.234` read as 12 and 1234.",
    "A row that repeats the row before exactly is kept once. When a file gives its times to the "
    "minute, states of one machine in one minute keep the last one, and counts of one machine "
    "in one minute are added up; the import's notes say how many.",
    "Reason codes the plant model does not know are stored and named in the import's notes.",
)


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
    "time without an offset (read in the site's time zone), or in the timestamp format given "
    "for the file (such as %d.%m.%Y %H:%M).",
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
    # German and French exports write their own words.
    "läuft": "running",
    "laeuft": "running",
    "in betrieb": "running",
    "produktion": "running",
    "en marche": "running",
    "marche": "running",
    "stillstand": "stopped",
    "steht": "stopped",
    "störung": "stopped",
    "stoerung": "stopped",
    "aus": "stopped",
    "arrêt": "stopped",
    "arret": "stopped",
    "à l'arrêt": "stopped",
    "panne": "stopped",
    "rüsten": "stopped",
    "ruesten": "stopped",
    "wartung": "stopped",
    "leerlauf": "stopped",
    "pause": "stopped",
    "réglage": "stopped",
    "maintenance": "stopped",
    "no_data": "no_data",
    "no data": "no_data",
    "unknown": "no_data",
    "offline": "no_data",
    "keine daten": "no_data",
    "unbekannt": "no_data",
    "hors ligne": "no_data",
    "inconnu": "no_data",
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
                    "running, stopped or no_data (also accepted: run/up/1/on, "
                    "stop/down/idle/0/off, unknown/offline, and in German and French "
                    "läuft/in Betrieb/en marche, Stillstand/Störung/aus/arrêt/panne, "
                    "unbekannt/keine Daten/inconnu/hors ligne).",
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
            "a counter that drops by more than half its range wrapped (give the counter's width, 16 "
            "or 32 bits; a 64-bit counter never wraps in practice). Any other drop is a reset: the counter "
            "restarted from 0 (for example at shift start), so the reading after the drop is the "
            "number of parts made since the reset. An empty cell is no reading: a reject counter "
            "read only now and then adds its rejects to the rows since its reading before, never "
            "more than their parts.",
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


#: What each column is called in the upload form, in the user's words.
LABELS: dict[str, str] = {
    "machine": "machine",
    "ts": "time",
    "state": "state (running, stopped …)",
    "reason": "stop reason",
    "end": "end time",
    "total": "parts made (good and bad)",
    "reject": "of those, rejects",
    "rework": "of the rejects, reworkable",
    "product": "product",
    "work_order": "work order",
    "reject_reason": "reject reason",
    "counter": "part counter reading",
    "reject_counter": "reject counter reading",
    "start": "start time",
    "entered_by": "entered by",
    "quantity": "ordered quantity",
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
