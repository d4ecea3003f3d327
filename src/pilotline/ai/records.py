"""Models are records: what a detector learnt, from which data, and how it did against the
baselines, kept in the store (migration 9) and refused when the data or schema do not match.

What a detector learnt is kept as numbers in JSON (never pickled code), so a record can be read,
compared and checked; an Isolation Forest, whose trees are not plain numbers, is not stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from pilotline import clock
from pilotline.ai.detectors import Detector, IsolationForestDetector, build
from pilotline.errors import InputError, NotFound
from pilotline.store.schema import MIGRATIONS, SCHEMA_VERSION
from pilotline.store.session import Session, Store

#: The record's own format; a record written in another is refused with the reason.
RECORD_VERSION = 1


@dataclass
class Model:
    name: str
    machine: str
    detector: Detector
    signals: list[str]
    train_start: dt.datetime
    train_end: dt.datetime
    train_rows: int
    fingerprint: str
    backtest: dict[str, Any]
    trained_by: str
    trained_at: dt.datetime | None = None
    schema_version: int = RECORD_VERSION

    def card(self) -> dict[str, Any]:
        """The model card: everything a reader needs to judge the model, in one dictionary."""
        used = [s for s, u in zip(self.signals, self.detector.used, strict=True) if u]
        return {
            "name": self.name,
            "machine": self.machine,
            "detector": self.detector.name,
            "signals": self.signals,
            "signals_used": used,
            "signals_left_out": [s for s in self.signals if s not in used],
            "training_window": {
                "start": self.train_start.isoformat(),
                "end": self.train_end.isoformat(),
                "rows": self.train_rows,
            },
            "data_fingerprint": self.fingerprint,
            "parameters": self.detector.parameters(),
            "threshold": self.detector.threshold,
            "backtest": self.backtest,
            "trained_by": self.trained_by,
            "trained_at": self.trained_at.isoformat() if self.trained_at else None,
            "record_version": self.schema_version,
        }


def state_of(det: Detector) -> dict[str, Any]:
    """What ``det`` learnt, as JSON-ready numbers."""
    if isinstance(det, IsolationForestDetector):
        raise InputError(
            "an Isolation Forest cannot be kept as a record (its trees are not plain numbers); "
            "back-test it, but train another detector for shadow mode"
        )
    out: dict[str, Any] = {}
    for k, v in vars(det).items():
        if isinstance(v, np.ndarray):
            out[k] = {"array": v.tolist(), "dtype": str(v.dtype)}
        elif isinstance(v, (int, float, str, bool)):
            out[k] = v
    return out


def restore(name: str, state: dict[str, Any]) -> Detector:
    det = build(name)
    if name == "hotelling_t2" and "median" not in state:  # stored before SKAB's median and
        state = {**state, "median": 1, "limit": 1.0}  # doubled limit: it scores as it learnt
    for k, v in state.items():
        if isinstance(v, dict) and "array" in v:
            setattr(det, k, np.asarray(v["array"], dtype=v["dtype"]))
        else:
            setattr(det, k, v)
    return det


def fingerprint(seconds: np.ndarray, values: np.ndarray, signals: list[str]) -> str:
    """SHA-256 of the training rows (times, values, signal names)."""
    h = hashlib.sha256(json.dumps(signals).encode())
    h.update(np.ascontiguousarray(seconds, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return h.hexdigest()


def _naive(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def aware(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def check_name(name: str) -> str:
    if (
        not name
        or len(name) > 80
        or not name[0].isalnum()
        or not all(c.isalnum() or c in "-_." for c in name)
    ):  # '..' or '.x' made a web address that is not the model's, and a hidden pilot file
        raise InputError(
            f"model name {name!r}: use 1 to 80 letters, digits, '-', '_' or '.', starting with a "
            "letter or digit (e.g. pump-1)"
        )
    return name


def ensure_tables(store: Store) -> None:
    """Create migration 9's tables when missing: a store migrated to a later version before
    migration 9 existed skipped it (its statements are all ``IF NOT EXISTS``)."""
    with store.session() as s:
        have = int(
            s.scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ai_alarms'"
            )
        )
    if have:
        return
    (ours,) = [m for m in MIGRATIONS if m.version == 9]
    with store.session(write=True) as s, s.transaction():
        code = "\n".join(x for x in ours.sql.splitlines() if not x.strip().startswith("--"))
        for statement in code.split(";"):
            if statement.strip():
                s.execute(statement)


def save(store: Store, model: Model) -> None:
    """Store ``model``; a model of the same name is replaced (its alarms stay), unless its pilot
    is under way (started, not yet decided, before its end)."""
    check_name(model.name)
    ensure_tables(store)
    state = json.dumps(state_of(model.detector))
    row = {
        "name": model.name,
        "machine": model.machine,
        "detector": model.detector.name,
        "signals": json.dumps(model.signals),
        "train_start": _naive(model.train_start),
        "train_end": _naive(model.train_end),
        "train_rows": model.train_rows,
        "fingerprint": model.fingerprint,
        "parameters": json.dumps(model.detector.parameters()),
        "threshold": float(model.detector.threshold),
        "state": state,
        "backtest": json.dumps(model.backtest, default=str),
        "schema_version": RECORD_VERSION,
        "trained_by": model.trained_by,
        "trained_at": clock.utc_naive(),
    }
    from pilotline.ai import floor

    with store.session(write=True) as s, s.transaction():
        plan = floor.schedules(s).get(model.name)
        if plan is not None and plan.end is not None and clock.now().date() < plan.end:
            raise InputError(
                f"model {model.name!r} has a pilot under way (ai-{model.name}, until "
                f"{plan.end}): retraining it would change the alarms mid-experiment; train it "
                "under a new name, or decide the pilot first (pilotline pilot decide)"
            )
        s.execute("DELETE FROM ai_models WHERE name = ?", [model.name])
        s.append("ai_models", pa.Table.from_pylist([row]))


def _from_row(r: dict[str, Any]) -> Model:
    if int(r["schema_version"]) != RECORD_VERSION:
        raise InputError(
            f"model {r['name']!r} was written in record format {r['schema_version']}, this "
            f"Pilotline reads format {RECORD_VERSION}; train it again"
        )
    return Model(
        name=r["name"],
        machine=r["machine"],
        detector=restore(r["detector"], json.loads(r["state"])),
        signals=json.loads(r["signals"]),
        train_start=aware(r["train_start"]),
        train_end=aware(r["train_end"]),
        train_rows=int(r["train_rows"]),
        fingerprint=r["fingerprint"],
        backtest=json.loads(r["backtest"]),
        trained_by=r["trained_by"],
        trained_at=aware(r["trained_at"]),
        schema_version=int(r["schema_version"]),
    )


def load(session: Session, name: str) -> Model:
    rows = session.arrow("SELECT * FROM ai_models WHERE name = ?", [name]).to_pylist()
    if not rows:
        known = [
            r["name"] for r in session.arrow("SELECT name FROM ai_models ORDER BY name").to_pylist()
        ]
        hint = (
            f"; stored models: {', '.join(known)}"
            if known
            else "; train one with pilotline ai train"
        )
        raise NotFound(f"no AI model named {name!r}{hint}")
    return _from_row(rows[0])


def models(session: Session) -> list[Model]:
    return [
        _from_row(r) for r in session.arrow("SELECT * FROM ai_models ORDER BY name").to_pylist()
    ]


def check_signals(model: Model, signals: list[str]) -> None:
    """Refuse data whose signals are not the ones the model was trained on."""
    if list(signals) != list(model.signals):
        raise InputError(
            f"model {model.name!r} was trained on signals {', '.join(model.signals)}; this data "
            f"has {', '.join(signals) or 'none'}: it cannot be scored by this model (train a new one)"
        )


def stored_schema_ok(session: Session) -> None:
    if session.schema_version() < 9:
        raise InputError(
            f"the store's schema version is {session.schema_version()}; AI models need 9 or "
            f"later (this Pilotline writes {SCHEMA_VERSION})"
        )
