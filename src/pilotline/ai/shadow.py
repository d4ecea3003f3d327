"""Shadow mode: a stored model scores the process values the collectors store, records its alarms
without showing them to anyone, and is then judged against what happened meanwhile (stops and
scrap recorded in the store). From there, a pilot draft puts it to the test on the shop floor.

Process values live in ``process_values`` (machine, tag, ts, value), one row per reading as the
collectors store them; a model's signals are tags of one machine. Readings are put on a grid of
one row per second, each tag carrying its last reading forward (a tag that has not reported yet
keeps the row out).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from pilotline import clock
from pilotline.ai import floor, records
from pilotline.ai.detectors import DEFAULT, build
from pilotline.ai.metrics import runs
from pilotline.errors import InputError, NotFound
from pilotline.store import audit
from pilotline.store.session import Session, Store

#: How far before an alarm-worthy stop an alarm still counts as a warning of it.
LEAD = dt.timedelta(minutes=30)


def _naive(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def grid(
    session: Session,
    machine: str,
    tags: list[str],
    start: dt.datetime,
    end: dt.datetime,
    step_s: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since the epoch and values (rows × tags) of ``machine`` in [start, end)."""
    marks = ", ".join("?" for _ in tags)
    t = session.arrow(
        f"SELECT tag, ts, value FROM process_values WHERE machine = ? AND tag IN ({marks}) "
        "AND ts >= ? AND ts < ? AND value IS NOT NULL ORDER BY ts",
        [machine, *tags, _naive(start), _naive(end)],
    )
    if t.num_rows == 0:
        return np.zeros(0), np.zeros((0, len(tags)))
    ts = t.column("ts").cast(pa.timestamp("us")).cast(pa.int64()).to_numpy() / 1e6
    tag = np.asarray(t.column("tag").to_pylist())
    val = t.column("value").to_numpy(zero_copy_only=False).astype(np.float64)
    first = np.floor(ts.min() / step_s) * step_s
    slots = np.floor((ts - first) / step_s).astype(np.int64)
    n = int(slots.max()) + 1
    out = np.full((n, len(tags)), np.nan)
    for j, name in enumerate(tags):
        m = tag == name
        out[slots[m], j] = val[m]  # the last reading in a second wins (rows are in time order)
    # carry each tag's last reading forward
    idx = np.where(~np.isnan(out), np.arange(n)[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    filled = out[idx, np.arange(len(tags))]
    keep = ~np.isnan(filled).any(axis=1)
    return (first + np.arange(n) * step_s)[keep], filled[keep]


@dataclass
class ShadowRun:
    model: str
    scored_from: dt.datetime
    scored_until: dt.datetime
    rows: int
    alarms: int
    shown: int = 0  # of them, shown on the floor (the model's pilot is on that day)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "scored_from": self.scored_from.isoformat(),
            "scored_until": self.scored_until.isoformat(),
            "rows": self.rows,
            "alarms": self.alarms,
            "shown": self.shown,
        }


def train_on_store(
    store: Store,
    *,
    name: str,
    machine: str,
    tags: list[str],
    start: dt.datetime,
    end: dt.datetime,
    detector: str = DEFAULT,
    trained_by: str,
) -> records.Model:
    """Train ``detector`` on the stored values of ``machine`` in [start, end), taken as normal."""
    records.check_name(name)
    if not tags:
        raise InputError("name the signals (tags) to watch, e.g. --tag vibration --tag current")
    if end <= start:
        raise InputError(f"the training window ends ({end}) before it starts ({start})")
    with store.session() as s:
        seconds, values = grid(s, machine, tags, start, end)
    if len(seconds) < 10:
        raise InputError(
            f"{machine}: {len(seconds)} second(s) with all of {', '.join(tags)} between {start} "
            f"and {end}; at least 10 are needed (is the machine's collector storing these tags?)"
        )
    flat = [t for t, sd in zip(tags, values.std(axis=0), strict=True) if sd == 0]
    if len(flat) == len(tags):
        raise InputError(f"{machine}: every signal is constant in the training window")
    det = build(detector).fit(values)
    model = records.Model(
        name=name,
        machine=machine,
        detector=det,
        signals=tags,
        train_start=dt.datetime.fromtimestamp(float(seconds[0]), dt.UTC),
        train_end=dt.datetime.fromtimestamp(float(seconds[-1]) + 1, dt.UTC),
        train_rows=len(seconds),
        fingerprint=records.fingerprint(seconds, values, tags),
        backtest={"note": "trained on stored values without labels: no back-test"},
        trained_by=trained_by,
    )
    records.save(store, model)
    return model


def run(
    store: Store, name: str, *, until: dt.datetime | None = None, tz: ZoneInfo | None = None
) -> ShadowRun:
    """Score the values stored since the model's last run (or its training window's end) up to
    ``until`` (default: now) and record the alarms that started meanwhile: silently, unless the
    model's pilot is under way and shows alarms on the day (in the plant's time zone ``tz``)
    an alarm starts — then it is marked shown, and the floor shows it."""
    until = until or clock.now()
    with store.session() as s:
        model = records.load(s, name)
        schedule = floor.schedules(s).get(name)
        last = s.scalar("SELECT max(scored_until) FROM ai_shadow_runs WHERE model = ?", [name])
        since = records.aware(last) if last is not None else model.train_end
        if until <= since:
            return ShadowRun(name, since, since, 0, 0)
        det = model.detector
        lookback = dt.timedelta(seconds=det.smoothing + det.persistence + 5)
        seconds, values = grid(s, model.machine, model.signals, since - lookback, until)
    if since < model.train_end:
        raise InputError(
            f"model {name!r}: scoring would start inside its training window (which ends "
            f"{model.train_end}); a model never scores the data it learnt from"
        )
    alarm = det.alarms(values) if len(seconds) else np.zeros(0, dtype=bool)
    score = det.score(values) if len(seconds) else np.zeros(0)
    new = [
        (a, b) for a, b in runs(alarm) if seconds[a] >= since.timestamp()
    ]  # an alarm already running at the last run was recorded then
    rows_scored = int((seconds >= since.timestamp()).sum())
    # the next run starts after the last second scored, not at ``until``: values that reach the
    # store late (a collector's buffer, an import after an outage) are still scored then
    until = (
        min(until, dt.datetime.fromtimestamp(float(seconds[-1]) + 1, dt.UTC))
        if rows_scored
        else since
    )
    now = clock.utc_naive()
    alarms = pa.Table.from_pylist(
        [
            {
                "model": name,
                "machine": model.machine,
                "start_ts": _naive(dt.datetime.fromtimestamp(float(seconds[a]), dt.UTC)),
                "end_ts": _naive(dt.datetime.fromtimestamp(float(seconds[b]) + 1, dt.UTC)),
                "peak": float(score[a : b + 1].max()),
                "shown": schedule is not None
                and schedule.shows(
                    floor.local_day(dt.datetime.fromtimestamp(float(seconds[a]), dt.UTC), tz)
                ),
                "answer": None,
                "answered_by": None,
                "recorded_at": now,
            }
            for a, b in new
        ],
        schema=pa.schema(
            [
                ("model", pa.string()),
                ("machine", pa.string()),
                ("start_ts", pa.timestamp("us")),
                ("end_ts", pa.timestamp("us")),
                ("peak", pa.float64()),
                ("shown", pa.bool_()),
                ("answer", pa.string()),
                ("answered_by", pa.string()),
                ("recorded_at", pa.timestamp("us")),
            ]
        ),
    )
    if rows_scored == 0 and last is not None:  # nothing new: no row (a run each minute, for
        return ShadowRun(name, since, until, 0, 0)  # years, would leave millions of empty ones)
    with store.session(write=True) as s, s.transaction():
        s.append("ai_alarms", alarms)
        s.execute(
            "INSERT INTO ai_shadow_runs VALUES (?, ?, ?, ?, ?, ?)",
            [name, _naive(since), _naive(until), rows_scored, len(new), now],
        )
    shown = sum(1 for r in alarms.column("shown").to_pylist() if r)
    return ShadowRun(name, since, until, rows_scored, len(new), shown)


def answer(
    store: Store,
    name: str,
    start: dt.datetime,
    *,
    real: bool,
    by: str,
    machine: str | None = None,
    audited: bool = False,
    account: str | None = None,
    first_only: bool = False,
) -> None:
    """Record the operator's answer to an alarm: a real problem or a false alarm (labels for the
    next training). With ``machine``, the alarm must be that machine's; ``audited`` (an answer
    given on the web, by ``by`` of ``account``) puts it into the audit trail in the same
    transaction; ``first_only`` refuses an alarm answered already (checked in that transaction,
    so of two answers sent at once only the first is kept and audited). An audited answer that
    replaces another names the one it replaced and who gave it."""
    with store.session(write=True) as s, s.transaction():
        found = s.arrow(
            "SELECT machine, answer, answered_by FROM ai_alarms WHERE model = ? AND start_ts = ?",
            [name, _naive(start)],
        ).to_pylist()
        if not found or (machine is not None and found[0]["machine"] != machine):
            where = f" on {machine}" if machine is not None else ""
            raise InputError(f"model {name!r} has no alarm{where} starting at {start.isoformat()}")
        if first_only and found[0]["answer"] is not None:
            raise NotFound(
                f"the alarm of {name!r} starting at {start.isoformat()} was answered already "
                f"({found[0]['answer']}); the first answer stands"
            )
        verdict = "real" if real else "false"
        s.execute(
            "UPDATE ai_alarms SET answer = ?, answered_by = ? WHERE model = ? AND start_ts = ?"
            + (" AND answer IS NULL" if first_only else ""),
            [verdict, by, name, _naive(start)],
        )
        if audited:
            audit.record(
                s,
                by,
                "alarm answered",
                found[0]["machine"],
                model=name,
                start=_naive(start),
                answer=verdict,
                account=account,
                **(
                    {"replaced": found[0]["answer"], "replaced_by": found[0]["answered_by"]}
                    if found[0]["answer"] is not None
                    else {}
                ),
            )


@dataclass
class ShadowEvaluation:
    model: str
    machine: str
    start: dt.datetime | None
    end: dt.datetime | None
    days: float
    alarms: int
    stops: int
    warned: int  # stops with an alarm in the LEAD before them
    false_alarms: int  # alarms with no stop or scrap within LEAD after their start
    scrap_parts: int
    answered_real: int
    answered_false: int
    verdict: str
    by_chance: float = 0.0  # share of the period within LEAD before a stop or scrap

    def to_json(self) -> dict[str, Any]:
        d = dict(vars(self))
        d["start"] = self.start.isoformat() if self.start else None
        d["end"] = self.end.isoformat() if self.end else None
        return d


def evaluate(store: Store, name: str) -> ShadowEvaluation:
    """The shadow period against what happened: stops (any state but running, a planned stop or
    no data) and scrap recorded for the machine meanwhile, and the operators' answers — beside
    what alarms at random times would have scored."""
    with store.session() as s:
        model = records.load(s, name)
        period = s.arrow(
            "SELECT min(scored_from) AS a, max(scored_until) AS b FROM ai_shadow_runs "
            "WHERE model = ?",
            [name],
        ).to_pylist()[0]
        if period["a"] is None:
            raise InputError(
                f"model {name!r} has not run in shadow mode yet: pilotline ai shadow {name}"
            )
        a, b = period["a"], period["b"]
        alarms = s.arrow(
            "SELECT start_ts, answer FROM ai_alarms WHERE model = ? ORDER BY start_ts", [name]
        ).to_pylist()
        stops = (
            s.arrow(
                "SELECT start_ts FROM states WHERE machine = ? AND start_ts >= ? AND start_ts < ? "
                "AND state NOT IN ('running', 'no_data', 'planned_stop') ORDER BY start_ts",
                [model.machine, a, b],
            )
            .column("start_ts")
            .to_pylist()
        )
        scrap = s.arrow(
            "SELECT ts, reject FROM counts WHERE machine = ? AND ts >= ? AND ts < ? AND reject > 0",
            [model.machine, a, b],
        ).to_pylist()
    events = sorted(stops + [r["ts"] for r in scrap])
    warned = sum(1 for t in stops if any(t - LEAD <= al["start_ts"] <= t for al in alarms))
    false = sum(
        1 for al in alarms if not any(al["start_ts"] <= t <= al["start_ts"] + LEAD for t in events)
    )
    days = (b - a).total_seconds() / 86400
    # an alarm at a random time is "followed by an event" with the chance that it falls in the
    # LEAD before one: the share of the period those stretches cover
    covered, reach = dt.timedelta(0), a
    for t in events:
        lo, hi = max(t - LEAD, reach, a), min(t, b)
        if hi > lo:
            covered += hi - lo
        reach = max(reach, hi)
    chance = covered / (b - a) if b > a else 0.0
    hits = len(alarms) - false
    luck = 1.0  # the chance of at least this many hits from alarms at random times
    if alarms:
        from scipy.stats import binom

        luck = float(binom.sf(hits - 1, len(alarms), chance))
    real = sum(1 for al in alarms if al["answer"] == "real")
    said_false = sum(1 for al in alarms if al["answer"] == "false")
    if not alarms:
        verdict = "No alarm in the shadow period: nothing to judge yet (or nothing to warn of)."
    elif not stops and not scrap:
        verdict = (
            f"{len(alarms)} alarm(s) and no stop or scrap recorded meanwhile: every alarm would "
            "have been a false one — don't switch it on."
        )
    elif warned == 0:
        verdict = (
            f"None of the {len(stops)} stop(s) had an alarm in the {LEAD.seconds // 60} minutes "
            "before it — not better than no alarm; don't switch it on."
        )
    elif luck >= 0.05:
        verdict = (
            f"{hits} of {len(alarms)} alarm(s) had a stop or scrap in the {LEAD.seconds // 60} "
            f"minutes after them, but an alarm at a random time would have had one with chance "
            f"{chance:.0%}: as many hits would come by luck with probability {luck:.2f} — not "
            "better than chance; don't switch it on."
        )
    else:
        verdict = (
            f"{warned} of {len(stops)} stop(s) were warned of; {false} of {len(alarms)} alarm(s) "
            "had nothing after them. If the warnings are worth more than the false alarms cost, "
            "make it a pilot."
        )
    return ShadowEvaluation(
        model=name,
        machine=model.machine,
        start=records.aware(a),
        end=records.aware(b),
        days=round(days, 2),
        alarms=len(alarms),
        stops=len(stops),
        warned=warned,
        false_alarms=false,
        scrap_parts=int(sum(r["reject"] for r in scrap)),
        answered_real=real,
        answered_false=said_false,
        verdict=verdict,
        by_chance=round(chance, 4),
    )


def timeline(store: Store, name: str, *, points: int = 4000) -> dict[str, Any] | None:
    """The shadow period on one time axis: each signal (standardised as the model sees it), the
    score and threshold, the alarms (with the operators' answers) and the recorded stops; at most
    about ``points`` points per line (every n-th second). None before the first shadow run."""
    with store.session() as s:
        model = records.load(s, name)
        period = s.arrow(
            "SELECT min(scored_from) AS a, max(scored_until) AS b FROM ai_shadow_runs "
            "WHERE model = ?",
            [name],
        ).to_pylist()[0]
        if period["a"] is None:
            return None
        a, b = records.aware(period["a"]), records.aware(period["b"])
        seconds, values = grid(s, model.machine, model.signals, a, b)
        alarms = s.arrow(
            "SELECT start_ts, end_ts, answer FROM ai_alarms WHERE model = ? ORDER BY start_ts",
            [name],
        ).to_pylist()
        stops = s.arrow(
            "SELECT start_ts, state, reason FROM states WHERE machine = ? AND start_ts >= ? "
            "AND start_ts < ? AND state NOT IN ('running', 'no_data') ORDER BY start_ts",
            [model.machine, _naive(a), _naive(b)],
        ).to_pylist()
    det = model.detector
    score = det.score(values) if len(seconds) else np.zeros(0)
    z = (values - values.mean(axis=0)) / np.where(values.std(axis=0) > 0, values.std(axis=0), 1)
    step = max(1, len(seconds) // points)
    times = [dt.datetime.fromtimestamp(float(t), dt.UTC) for t in seconds[::step]]
    return {
        "times": times,
        "signals": {tag: z[::step, j].tolist() for j, tag in enumerate(model.signals)},
        "score": score[::step].tolist(),
        "threshold": det.threshold,
        "alarms": alarms,
        "stops": stops,
    }


def pilot_draft(store: Store, name: str, folder: Path, *, weeks: int = 4) -> Path:
    """Write a pilot file (TOML) that puts the model's alarms to the test as a switchback — alarms
    shown on every other day, named as dates so that the floor and the evaluation agree — with availability on its machine as the metric, and check it with
    the pilot module's own loader. Returns the file's path."""
    from pilotline.pilot import load_pilot

    with store.session() as s:
        model = records.load(s, name)
    today = clock.now().date()
    base_start = today - dt.timedelta(weeks=weeks)
    start = today + dt.timedelta(days=7)
    end = start + dt.timedelta(weeks=weeks)
    on_days = [start + dt.timedelta(days=i) for i in range(0, (end - start).days, 2)]
    q = json.dumps  # a TOML basic string: quotes, backslashes and line breaks escaped
    machine = model.machine
    text = "\n".join(
        [
            f"# A pilot for the AI model {name!r}, drafted by 'pilotline ai pilot'.",
            "# Check every line, then: pilotline pilot plan THIS_FILE; pilotline pilot start THIS_FILE",
            f"title = {q(f'Early-warning alarms ({name}) on {machine}')}",
            f'id = "ai-{name}"',
            'owner = "Operations manager"',
            "hypothesis = "
            + q(
                f"If operators see the {model.detector.name} alarms on {machine}, its "
                "availability rises, because stops are caught before they grow into breakdowns."
            ),
            f'background = "Back-tested and run in shadow mode; model card: pilotline ai card {name}."',
            'countermeasure = "Alarms shown on the operator page on alternate days; each answered '
            'real problem or false alarm."',
            'unit = "day"',
            'design = "switchback"',
            "target_effect = 0.02",
            f"review_date = {(end + dt.timedelta(days=7)).isoformat()}",
            "",
            "# The days alarms are shown (every other day; the others are the comparison):",
            "# the operator pages show them on exactly these dates.",
            "[switchback]",
            "on = [" + ", ".join(d.isoformat() for d in on_days) + "]",
            "",
            "[baseline]",
            f"start = {base_start.isoformat()}",
            f"end = {today.isoformat()}",
            "",
            "[pilot]",
            f"start = {start.isoformat()}",
            f"end = {end.isoformat()}",
            "",
            "[metric]",
            'kpi = "availability"',
            f"machines = [{q(machine)}]",
            'direction = "increase"',
            "",
            "# Guardrail: output must not suffer while people answer alarms.",
            "[[guardrails]]",
            'kpi = "throughput_per_h"',
            f"machines = [{q(machine)}]",
            'direction = "increase"',
            "",
        ]
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ai-{name}.toml"
    try:  # never over a draft someone edited, or a pilot under way
        with path.open("x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise InputError(
            f"{path} already exists (a draft, or a pilot under way): edit that one, or delete it "
            "to draft a new one"
        ) from None
    try:
        load_pilot(path)  # the pilot module's own checks: a draft that loads
    except Exception:
        path.unlink(missing_ok=True)  # no draft that does not load is left behind
        raise
    return path
