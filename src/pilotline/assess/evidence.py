"""Evidence from the plant's own data, beside the answers — and where the two disagree.

Over the last :data:`WINDOW_DAYS` days (one KPI query per machine and shift): which machines sent
data, the share of stop time with a reason, OEE, the losses in hours and in money a year (the
window's hours × 365 ÷ the days it covers × the value of an hour), shifts with data (a pilot's
baseline). From the whole store: days of process values per machine, energy tags, the span of
work orders, pilots run and their decisions. From mapped event logs: the automation-readiness
verdict of every activity.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pilotline import clock
from pilotline.assess.answers import Answers
from pilotline.errors import InputError
from pilotline.measure import Measure
from pilotline.plant.model import Plant
from pilotline.store import Store

WINDOW_DAYS = 30
#: The loss categories evidence reports, with the KPI row column that holds each one's time.
LOSS_COLUMNS: dict[str, tuple[str, str]] = {
    "breakdown": ("breakdown_s", "Breakdowns"),
    "setup": ("setup_s", "Setups and changeovers"),
    "unexplained": ("unexplained_s", "Stops with no reason"),
    "minor_stop": ("minor_stop_s", "Minor stops"),
    "reduced_speed": ("speed_loss_s", "Reduced speed"),
    "quality": ("quality_loss_s", "Scrap and rework"),
    "no_data": ("no_data_s", "Planned time with no data"),
}
#: A step's loss categories (the plant's) → the evidence category that holds their time.
CATEGORY_OF = {
    "startup_reject": "quality",
    "production_reject": "quality",
    **{k: k for k in LOSS_COLUMNS},
}
ENERGY_WORDS = ("energy", "kwh", "power", "kw")
_SUMS = (
    "planned_s",
    "run_s",
    "good_ideal_s",
    "total_count",
    "reject_count",
    *(c for c, _ in LOSS_COLUMNS.values()),
)


@dataclass
class MachineEvidence:
    id: str
    label: str
    line: str
    sent_data: bool = False
    shifts_with_data: int = 0
    process_value_days: int = 0
    reason_share: float | None = None
    oee: float | None = None
    sums: dict[str, float] = field(default_factory=dict)

    def loss_s(self, category: str) -> float:
        return max(0.0, self.sums.get(LOSS_COLUMNS[category][0], 0.0))

    def facts(self) -> dict[str, Any]:
        """The names a gate may read as ``machine.<name>``."""
        return {
            "sent_data": self.sent_data,
            "baseline_shifts": self.shifts_with_data,
            "process_value_days": self.process_value_days,
            "reason_share": self.reason_share,
            "oee": self.oee,
        }


@dataclass
class Evidence:
    start: dt.datetime
    end: dt.datetime
    covered_days: float
    value_per_hour: float
    currency: str
    value_assumed: bool
    machines: list[MachineEvidence]
    processes: list[dict[str, Any]]
    pilots: int
    decisions: dict[str, int]
    energy_tags: int
    work_order_days: int
    contradictions: list[str] = field(default_factory=list)

    @property
    def machines_with_data(self) -> int:
        return sum(m.sent_data for m in self.machines)

    def total(self, column: str) -> float:
        return sum(m.sums.get(column, 0.0) for m in self.machines)

    @property
    def oee(self) -> float | None:
        planned = self.total("planned_s")
        return self.total("good_ideal_s") / planned if planned > 0 else None

    @property
    def reason_share(self) -> float | None:
        return _reason_share(
            self.total("breakdown_s") + self.total("setup_s"), self.total("unexplained_s")
        )

    def per_year(self, seconds: float) -> float:
        return seconds / 3600 * 365 / self.covered_days

    def losses(self) -> list[dict[str, Any]]:
        """Every loss category, largest first: hours in the window, hours and money a year."""
        rows = []
        for key, (_col, label) in LOSS_COLUMNS.items():
            s = max(0.0, sum(m.loss_s(key) for m in self.machines))
            hours_year = self.per_year(s)
            rows.append(
                {
                    "category": key,
                    "label": label,
                    "hours": s / 3600,
                    "hours_per_year": hours_year,
                    "money_per_year": hours_year * self.value_per_hour,
                }
            )
        return sorted(rows, key=lambda r: (-r["hours"], r["category"]))

    def facts(self) -> dict[str, Any]:
        """The names a gate may read as ``evidence.<name>``."""
        return {
            "machines": len(self.machines),
            "machines_with_data": self.machines_with_data,
            "reason_share": self.reason_share,
            "oee": self.oee,
            "logs_mapped": len({p["log"] for p in self.processes}),
            "process_candidates": sum(p["candidate"] for p in self.processes),
            "pilots": self.pilots,
            "pilots_decided": sum(self.decisions.values()),
            "energy_tags": self.energy_tags,
            "work_order_days": self.work_order_days,
            "rejects_recorded": self.total("reject_count"),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "window": {
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "covered_days": round(self.covered_days, 2),
            },
            "value_per_hour": self.value_per_hour,
            "currency": self.currency,
            "value_assumed": self.value_assumed,
            **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.facts().items()},
            "largest_losses": [
                {k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()}
                for r in self.losses()[:3]
            ],
            "machine_evidence": [
                {"machine": m.id, **{k: _r(v) for k, v in m.facts().items()}} for m in self.machines
            ],
            "processes": self.processes,
            "decisions": self.decisions,
            "contradictions": self.contradictions,
        }


def _r(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else v


def _reason_share(reasoned: float, unexplained: float) -> float | None:
    stopped = reasoned + unexplained
    return reasoned / stopped if stopped > 0 else None


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def gather(
    store: Store,
    plant: Plant | None,
    *,
    value_per_hour: float | None = None,
    currency: str = "GBP",
    processes: list[dict[str, Any]] | None = None,
    window_days: int = WINDOW_DAYS,
) -> Evidence:
    """Everything the store says about the plant, for the assessment (see the module's doc)."""
    end = clock.now()
    start = end - dt.timedelta(days=window_days)
    machines: list[MachineEvidence] = []
    with store.session() as s:
        pv = {
            r["machine"]: int(r["days"])
            for r in s.arrow(
                "SELECT machine, count(DISTINCT CAST(ts AS DATE)) AS days FROM process_values "
                "GROUP BY machine"
            ).to_pylist()
        }
        like = " OR ".join(f"lower(tag) LIKE '%{w}%'" for w in ENERGY_WORDS)
        energy = int(s.scalar(f"SELECT count(DISTINCT tag) FROM process_values WHERE {like}"))
        wo = s.arrow("SELECT min(start_ts) AS a, max(start_ts) AS b FROM work_orders").to_pylist()
        wo_days = (wo[0]["b"] - wo[0]["a"]).days if wo and wo[0]["a"] is not None else 0
        pilots = int(s.scalar("SELECT count(DISTINCT title) FROM pilot_versions"))
        decided: dict[str, int] = {}
        latest = {d["title"]: d["decision"] for d in s.decisions()}
        for decision in latest.values():
            decided[decision] = decided.get(decision, 0) + 1
        first = s.scalar("SELECT min(ts) FROM counts")
    covered = float(window_days)
    if first is not None:
        covered = max(1.0, (end - first.replace(tzinfo=dt.UTC)).total_seconds() / 86400)
        covered = min(covered, float(window_days))
    if plant is not None:
        by_machine: dict[str, MachineEvidence] = {
            m.id: MachineEvidence(m.id, m.label, line.name, process_value_days=pv.get(m.id, 0))
            for line, m in plant.machines
        }
        rows = Measure(store, plant).oee(start=start, end=end, by="machine,shift")
        for r in rows:
            m = by_machine[r["machine"]]
            for col in _SUMS:
                m.sums[col] = m.sums.get(col, 0.0) + float(r[col] or 0.0)
            if r["total_count"] > 0:
                m.shifts_with_data += 1
        for m in by_machine.values():
            m.sent_data = m.shifts_with_data > 0
            m.reason_share = _reason_share(
                m.sums.get("breakdown_s", 0.0) + m.sums.get("setup_s", 0.0),
                m.sums.get("unexplained_s", 0.0),
            )
            planned = m.sums.get("planned_s", 0.0)
            m.oee = m.sums.get("good_ideal_s", 0.0) / planned if planned > 0 else None
        machines = list(by_machine.values())
    if value_per_hour is None:
        value, assumed = 100.0, True
    else:
        value, assumed = value_per_hour, False
    return Evidence(
        start=start,
        end=end,
        covered_days=covered,
        value_per_hour=value,
        currency=currency,
        value_assumed=assumed,
        machines=machines,
        processes=processes or [],
        pilots=pilots,
        decisions=decided,
        energy_tags=energy,
        work_order_days=wo_days,
    )


def read_settings(home: Path) -> tuple[float | None, str]:
    """``value_per_hour`` (None when not set) and ``currency`` from ``<home>/assess.toml``."""
    path = home / "assess.toml"
    settings: dict[str, Any] = {}
    if path.exists():
        try:
            settings = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML: {exc}") from None
    value = settings.get("value_per_hour")
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or value < 0
    ):
        raise InputError(f"value per hour {value!r} must be a number of money, 0 or more")
    return (None if value is None else float(value)), str(settings.get("currency", "GBP"))


# -- mapped processes -------------------------------------------------------------------------
def readiness_rows(name: str, verdicts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Automation-readiness verdicts of one log, in the shape evidence keeps."""
    return [
        {
            "log": name,
            "activity": v["activity"],
            "verdict": v["verdict"],
            "candidate": v["verdict"] == "candidate for automation",
            "score": v["score"],
            "events": v["events"],
        }
        for v in verdicts
    ]


def mapped_processes(home: Path, plant: Plant | None, extra: list[Path]) -> list[dict[str, Any]]:
    """The readiness verdicts of the logs uploaded to the web app (``<home>/logs``) and of
    ``extra`` logs (CSV with columns case, activity, timestamp)."""
    from zoneinfo import ZoneInfo

    from pilotline.map import LogColumns, Miner, read_log

    tz = plant.tz if plant else ZoneInfo("UTC")
    found: list[tuple[str, Path, LogColumns, str | None]] = []
    root = home / "logs"
    if root.exists():
        for folder in sorted(root.iterdir()):
            if not (folder / "meta.json").exists():
                continue
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            c = meta["columns"]
            cols = LogColumns(
                case=c["case"],
                activity=c["activity"],
                timestamp=c["timestamp"],
                resource=c.get("resource"),
                timestamp_format=c.get("timestamp_format"),
            )
            name = str(meta.get("name") or meta.get("file") or folder.name)
            found.append((name, folder / meta["file"], cols, c.get("object_type") or None))
    for path in extra:
        cols = LogColumns(case="case", activity="activity", timestamp="timestamp")
        found.append((path.name, path, cols, None))
    rows: list[dict[str, Any]] = []
    for name, path, cols, object_type in found:
        log = read_log(path, cols, tz=tz, object_type=object_type)
        rows += readiness_rows(name, Miner(log).automation())
    return rows


# -- answers against data ---------------------------------------------------------------------
def contradictions(evidence: Evidence, answers: Answers | None) -> list[str]:
    """Where an answer and the data disagree, in a sentence each."""
    if answers is None or not evidence.machines:
        return []
    out = []
    n, silent = len(evidence.machines), len(evidence.machines) - evidence.machines_with_data
    if (answers.item("dm_practice", "automatic") or 0) > 0 and silent:
        out.append(
            "Answered that machine data is collected automatically; "
            f"{silent} of {n} machines have sent nothing for {WINDOW_DAYS} days."
        )
    share = evidence.reason_share
    if (
        answers.item("b_stop_reasons", "b_stop_reasons") == 1.0
        and share is not None
        and share < 0.8
    ):
        out.append(
            "Answered that a reason is recorded for every stop; only "
            f"{share:.0%} of stop time in the last {WINDOW_DAYS} days has one."
        )
    losses = evidence.losses()
    top = losses[0] if losses and losses[0]["hours"] > 0 else None
    planned = evidence.total("planned_s")
    planned_maintenance = answers.item("b_planned_maintenance", "b_planned_maintenance")
    if top and planned_maintenance == 1.0 and top["category"] == "breakdown":
        out.append(
            "Answered that maintenance is planned; breakdowns are the largest loss "
            f"({top['hours']:.0f} h in {WINDOW_DAYS} days)."
        )
    setup = evidence.total("setup_s")
    if answers.item("b_changeover", "b_changeover") == 1.0 and planned and setup / planned > 0.1:
        out.append(
            "Answered that changeovers follow a standard; they take "
            f"{setup / planned:.0%} of planned time."
        )
    if (
        answers.item("b_quality_records", "b_quality_records") == 1.0
        and evidence.total("total_count") > 0
        and evidence.total("reject_count") == 0
    ):
        out.append("Answered that scrap is recorded every shift; no reject has been counted.")
    if (answers.item("gd_practice", "energy_metered") or 0) > 0 and evidence.energy_tags == 0:
        out.append(
            "Answered that energy is metered per machine; no energy reading has reached Pilotline."
        )
    if (answers.item("dbs_readiness", "measured") or 0) > 0 and not evidence.decisions:
        out.append(
            "Answered that the firm checks with figures whether a step paid off; no pilot "
            "has been decided in Pilotline yet."
        )
    return out
