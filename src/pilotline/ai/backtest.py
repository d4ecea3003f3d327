"""The honest back-test: train on the first part of each recording, score the rest, in time order.

The chosen detector is always reported beside the null detector (never alarms) and Hotelling's
T² (the classical control chart); the verdict says in words whether it is better than both, and
"not better than the baseline — don't deploy" is a normal answer.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from pilotline.ai.data import Dataset, Recording, split_row
from pilotline.ai.detectors import BASELINES, DEFAULT, Detector, build, onsets
from pilotline.ai.metrics import NabFile, delays, nab_score, rates, runs
from pilotline.errors import InputError

MONTH_S = 30.4375 * 86400
WEEK_S = 7 * 86400


@dataclass(frozen=True)
class Costs:
    """What the user says an alarm costs: a false one, and an event nobody was warned of."""

    false_alarm: float
    missed_event: float

    def __post_init__(self) -> None:
        for name, v in (("false alarm", self.false_alarm), ("missed event", self.missed_event)):
            if not (0 <= v < 1e9) or v != v:
                raise InputError(f"cost of a {name}: {v} is out of range (0 to 1,000,000,000)")


@dataclass
class Money:
    """Expected cost per month against "no alarm" (positive saving = the detector pays)."""

    saving_per_month: float
    low: float
    high: float
    false_alarms: int
    missed: int
    caught: int
    cost_no_alarm_per_month: float


@dataclass
class Scores:
    detector: str
    f1: float
    far: float
    mar: float
    nab: dict[str, float]
    alarms: int
    alarms_per_week: float
    delay_median_s: float | None
    events: int
    caught: int
    money: Money | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        if self.money is None:
            d.pop("money")
        return d


@dataclass
class Backtest:
    chosen: Scores
    baselines: dict[str, Scores]
    verdict: str
    test_seconds: float
    train_rows: list[int]
    notes: list[str] = field(default_factory=list)
    alarms: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = self.chosen.to_json()
        out["baselines"] = {k: v.to_json() for k, v in self.baselines.items()}
        out["verdict"] = self.verdict
        out["test_hours"] = round(self.test_seconds / 3600, 3)
        out["notes"] = self.notes
        return out


def _windows(rec: Recording, start: int, nab_window_s: float | None) -> list[tuple[int, int]]:
    """Event windows in test rows: runs of label 1, or a fixed time right of each changepoint."""
    if nab_window_s is None:
        assert rec.label is not None
        return runs(rec.label[start:])
    marks = rec.changepoint if rec.changepoint is not None else None
    if marks is None:
        raise InputError(
            f"{rec.name}: --nab-window needs a 'changepoint' column (0/1) to start the windows"
        )
    sec = rec.seconds[start:]
    out: list[tuple[int, int]] = []
    for i in np.flatnonzero(marks[start:]):
        last = int(np.searchsorted(sec, sec[i] + nab_window_s, side="right")) - 1
        if out and i <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((int(i), last))
    return out


def _score_one(
    name: str,
    data: Dataset,
    cuts: list[int],
    nab_window_s: float | None,
    costs: Costs | None,
    seed: int,
    fitted: Detector | None = None,
) -> tuple[Scores, list[np.ndarray], float]:
    labels, alarms_all, nab_files, all_delays = [], [], [], []
    blocks: list[tuple[float, float, int, int, int]] = []  # seconds, events, fa, missed, caught
    n_alarms, test_s = 0, 0.0
    for rec, k in zip(data.recordings, cuts, strict=True):
        det: Detector = fitted if fitted is not None else build(name).fit(rec.values[:k])
        alarm = det.alarms(rec.values[k:])
        assert rec.label is not None
        labels.append(rec.label[k:])
        alarms_all.append(alarm)
        starts = onsets(alarm)
        n_alarms += len(starts)
        wins = _windows(rec, k, nab_window_s)
        nab_files.append(NabFile(wins, starts.tolist()))
        sec = rec.seconds[k:]
        all_delays += delays(wins, starts.tolist(), sec)
        step = float(np.median(np.diff(rec.seconds))) if len(rec.seconds) > 1 else 1.0
        span = float(sec[-1] - sec[0] + step)
        test_s += span
        inside = np.zeros(len(sec), dtype=bool)
        for a, b in wins:
            inside[a : b + 1] = True
        fa = int((~inside[starts]).sum()) if len(starts) else 0
        found = [bool(((starts >= a) & (starts <= b)).any()) for a, b in wins]
        caught = sum(found)
        if len(data.recordings) == 1:  # one long recording: ten blocks of time for the interval
            edges = np.linspace(0, len(sec), 11).astype(int)
            for lo, hi in itertools.pairwise(edges):
                # an event belongs to the block it starts in, caught wherever its onset falls
                s_in = starts[(starts >= lo) & (starts < hi)]
                f_w = [f for (a, _), f in zip(wins, found, strict=True) if lo <= a < hi]
                w_in, c_in = len(f_w), sum(f_w)
                f_in = int((~inside[s_in]).sum()) if len(s_in) else 0
                blocks.append((span * (hi - lo) / len(sec), w_in, f_in, w_in - c_in, c_in))
        else:
            blocks.append((span, len(wins), fa, len(wins) - caught, caught))
    r = rates(np.concatenate(labels), np.concatenate(alarms_all))
    events = sum(b[1] for b in blocks)
    caught_total = sum(int(b[4]) for b in blocks)
    money = _money(blocks, costs, seed) if costs is not None else None
    scores = Scores(
        detector=name,
        f1=round(r.f1, 4),
        far=round(r.far, 4),
        mar=round(r.mar, 4),
        nab={k: round(v, 2) for k, v in nab_score(nab_files).items()},
        alarms=n_alarms,
        alarms_per_week=round(n_alarms / test_s * WEEK_S, 1) if test_s else 0.0,
        delay_median_s=float(np.median(all_delays)) if all_delays else None,
        events=int(events),
        caught=caught_total,
        money=money,
    )
    return scores, alarms_all, test_s


def _money(blocks: list[tuple[float, float, int, int, int]], costs: Costs, seed: int) -> Money:
    b = np.array(blocks, dtype=np.float64)
    seconds, events, fa, missed = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    cost_none = events * costs.missed_event
    cost_det = fa * costs.false_alarm + missed * costs.missed_event
    saving = cost_none - cost_det

    def per_month(idx: np.ndarray) -> np.ndarray:
        return np.asarray(saving[idx].sum(axis=-1) / seconds[idx].sum(axis=-1) * MONTH_S)

    rng = np.random.default_rng(seed)
    draws = per_month(rng.integers(0, len(b), size=(2000, len(b))))
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return Money(
        saving_per_month=round(float(per_month(np.arange(len(b)))), 2),
        low=round(float(lo), 2),
        high=round(float(hi), 2),
        false_alarms=int(fa.sum()),
        missed=int(missed.sum()),
        caught=int(b[:, 4].sum()),
        cost_no_alarm_per_month=round(float(cost_none.sum() / seconds.sum() * MONTH_S), 2),
    )


def verdict(chosen: Scores, baselines: dict[str, Scores], always_f1: float | None = None) -> str:
    """The back-test's answer in plain words. ``always_f1`` is the F1 of an alarm that is on at
    every test row: onsets alone (NAB) do not see an alarm that hardly ever goes off."""
    t2 = baselines["hotelling_t2"]
    if chosen.detector == "null":
        return "The null detector never alarms: it is the baseline, not a candidate."
    if chosen.money is not None and chosen.money.low <= 0:
        return (
            f"Not better than the baseline of no alarm in money: the expected saving is "
            f"{chosen.money.saving_per_month:,.0f} a month, but the 95 % interval "
            f"({chosen.money.low:,.0f} to {chosen.money.high:,.0f}) does not rule out no gain or a loss "
            "— don't deploy."
        )
    if chosen.nab["standard"] <= 0 or chosen.caught == 0:
        return (
            f"Not better than the baseline of no alarm: NAB score {chosen.nab['standard']:.1f} "
            f"(0 = never alarming), {chosen.caught} of {chosen.events} events caught — don't deploy."
        )
    if always_f1 is not None and chosen.f1 <= always_f1:
        return (
            f"Not better than the baseline of an alarm always on: F1 {chosen.f1:.2f} against "
            f"{always_f1:.2f} for alarming at every row; "
            + (
                "no scored row is labelled normal, so its false alarms cannot be counted"
                if always_f1 >= 1
                else f"it is in alarm for {chosen.far:.0%} of normal running"
            )
            + " — don't deploy."
        )
    if chosen.detector != "hotelling_t2" and (
        chosen.nab["standard"] <= t2.nab["standard"] or chosen.f1 < t2.f1 - 0.02
    ):
        return (
            f"Not better than the baseline (Hotelling T², a plain control chart): F1 "
            f"{chosen.f1:.2f} vs {t2.f1:.2f}, NAB {chosen.nab['standard']:.1f} vs "
            f"{t2.nab['standard']:.1f} (it must do better on both) — don't deploy on this "
            "evidence."
        )
    if (
        chosen.detector != "hotelling_t2"
        and chosen.money is not None
        and t2.money is not None
        and chosen.money.saving_per_month < t2.money.saving_per_month
    ):
        return (
            f"Not better than the baseline (Hotelling T², a plain control chart) in money: it "
            f"saves about {chosen.money.saving_per_month:,.0f} a month against "
            f"{t2.money.saving_per_month:,.0f} for Hotelling T² — don't deploy on this evidence."
        )
    money = ""
    if chosen.money is not None:
        money = (
            f"; it saves about {chosen.money.saving_per_month:,.0f} a month against no alarm "
            f"(95 % interval {chosen.money.low:,.0f} to {chosen.money.high:,.0f})"
        )
    return (
        f"Better than both baselines on this data: F1 {chosen.f1:.2f} (Hotelling T² "
        f"{t2.f1:.2f}), NAB {chosen.nab['standard']:.1f} (Hotelling T² {t2.nab['standard']:.1f}), "
        f"{chosen.alarms_per_week:,.0f} alarms a week{money}. Next: run it in shadow mode on the "
        "live data before anyone sees its alarms."
    )


def backtest(
    data: Dataset,
    *,
    detector: str = DEFAULT,
    train_rows: int | None = None,
    train_until: dt.datetime | None = None,
    nab_window_s: float | None = None,
    costs: Costs | None = None,
    progress: Callable[[str], None] | None = None,
    seed: int = 0,
    model: tuple[Detector, dt.datetime] | None = None,
) -> Backtest:
    """Back-test ``detector`` and the baselines on ``data``, every recording split in time order.

    With ``model`` (a stored detector and the end of its training window), that detector is
    judged as it is, without refitting, and data from before its training ended is refused."""
    if model is not None:
        detector = model[0].name
    build(detector)  # an unknown name fails before any work
    if nab_window_s is not None and not (0 < nab_window_s <= 86400):
        raise InputError(f"--nab-window {nab_window_s} s: expected 1 s to 1 day")
    cuts = [split_row(r, train_rows=train_rows, train_until=train_until) for r in data.recordings]
    notes = [n for r in data.recordings for n in r.notes]
    if model is not None:
        for rec, k in zip(data.recordings, cuts, strict=True):
            if rec.seconds[k] < model[1].timestamp():
                raise InputError(
                    f"{rec.name}: its test period starts {rec.start(k):%Y-%m-%d %H:%M:%S} UTC, "
                    f"before the model's training window ended ({model[1]:%Y-%m-%d %H:%M:%S} "
                    "UTC); a model is only judged on data after what it learnt from"
                )
    for rec, k in zip(data.recordings, cuts, strict=True):
        if rec.label is None:
            raise InputError(f"{rec.name}: a back-test needs labels (0/1) for every row")
        if rec.label[:k].any():
            notes.append(
                f"{rec.name}: {int(rec.label[:k].sum())} training row(s) are labelled anomalous; "
                "the detector learnt them as normal (flagged: choose a clean training window)"
            )
    if not any(
        r.label is not None and r.label[k:].any()
        for r, k in zip(data.recordings, cuts, strict=True)
    ):
        notes.append("no labelled events after the training windows: F1 and NAB mean little")
    results: dict[str, Scores] = {}
    alarms: dict[str, list[np.ndarray]] = {}
    test_s = 0.0
    for name in dict.fromkeys([*BASELINES, detector]):
        if progress is not None:
            progress(name)
        mine = model[0] if model is not None and name == detector else None
        results[name], alarms[name], test_s = _score_one(
            name, data, cuts, nab_window_s, costs, seed, mine
        )
    chosen = results[detector]
    baselines = {k: results[k] for k in BASELINES}
    pos = sum(
        int(r.label[k:].sum())
        for r, k in zip(data.recordings, cuts, strict=True)
        if r.label is not None
    )
    rows = sum(len(r.seconds) - k for r, k in zip(data.recordings, cuts, strict=True))
    always_f1 = 2 * pos / (pos + rows) if rows else 0.0  # 2·TP / (2·TP + FP), every row alarmed
    text = verdict(chosen, baselines, always_f1)
    return Backtest(chosen, baselines, text, test_s, cuts, notes, alarms)
