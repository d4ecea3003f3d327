"""Benchmark: every detector on the whole SKAB set, beside SKAB's published leaderboard.

Run:  .venv/bin/python bench/bench_ai.py [--data ../shared/data/skab]

Outlier problem (SKAB's protocol): each of the 34 experiment files is split in time order, its
first 400 rows to train and the rest to test; the predictions of all files are scored together
(F1, false-alarm rate, missed-alarm rate) and with the NAB score over the runs of anomaly = 1.
Changepoint problem: the NAB score with a 60-second window to the right of each changepoint.
Then the scoring speed of the default detector on an 8-signal stream (target 200,000 samples a
second) and a shadow-mode load of 100 machines × 10 signals at 1 Hz.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from pilotline.ai.backtest import backtest
from pilotline.ai.data import read_recordings
from pilotline.ai.detectors import DEFAULT, DETECTORS, build

#: SKAB's published leaderboard (../shared/data/SOURCES.md): F1, FAR %, MAR %.
PUBLISHED = {
    "Conv-AE": (0.78, 13.55, 28.02),
    "MSET": (0.78, 39.73, 14.13),
    "PCA T² + Q": (0.76, 26.62, 24.92),
    "LSTM-AE": (0.74, 29.96, 25.92),
    "Hotelling T²": (0.66, 19.21, 42.6),
    "Isolation Forest": (0.29, 2.56, 82.89),
    "null detector": (0.0, 0.0, 100.0),
}
PUBLISHED_CHANGEPOINT_NAB = {"MSCRED": 32.42, "Isolation Forest": 26.16, "T² + Q": 25.35}
OURS_VS = {
    "hotelling_t2": "Hotelling T²",
    "pca_t2q": "PCA T² + Q",
    "isolation_forest": "Isolation Forest",
    "null": "null detector",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared/data/skab")
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )
    data = read_recordings(args.data)
    rows = sum(len(r.seconds) for r in data.recordings)
    print(
        f"SKAB: {len(data.recordings)} labelled files, {rows:,} rows, {len(data.signals)} signals"
    )
    print("\nOutlier problem (first 400 rows of each file train, the rest test, scored together)")
    print(
        f"{'detector':<20}{'F1':>7}{'FAR %':>8}{'MAR %':>8}{'NAB std':>9}{'low FP':>8}{'low FN':>8}"
        f"{'caught':>8}{'delay s':>8}{'time s':>8}   published F1 / FAR / MAR"
    )
    for name in DETECTORS:
        t = time.perf_counter()
        s = backtest(data, detector=name, train_rows=400).chosen
        took = time.perf_counter() - t
        pub = PUBLISHED.get(OURS_VS.get(name, ""))
        ref = f"{pub[0]:.2f} / {pub[1]:.2f} / {pub[2]:.2f}" if pub else "— (not on the leaderboard)"
        delay = "—" if s.delay_median_s is None else f"{s.delay_median_s:.0f}"
        print(
            f"{name + (' *' if name == DEFAULT else ''):<20}{s.f1:>7.3f}{100 * s.far:>8.2f}"
            f"{100 * s.mar:>8.2f}{s.nab['standard']:>9.2f}{s.nab['low_fp']:>8.2f}"
            f"{s.nab['low_fn']:>8.2f}{f'{s.caught}/{s.events}':>8}{delay:>8}{took:>8.1f}   {ref}"
        )
    print(
        "published, not run here: "
        + "; ".join(
            f"{k} {v[0]:.2f} / {v[1]:.2f} / {v[2]:.2f}"
            for k, v in PUBLISHED.items()
            if k not in OURS_VS.values()
        )
    )
    print("\nChangepoint problem (NAB, 60 s window right of each changepoint)")
    for name in ("hotelling_t2", "pca_t2q", "isolation_forest", DEFAULT):
        s = backtest(data, detector=name, train_rows=400, nab_window_s=60).chosen
        print(
            f"{name:<20} standard {s.nab['standard']:6.2f}  low FP {s.nab['low_fp']:6.2f}  low FN {s.nab['low_fn']:6.2f}"
        )
    print("published: " + ", ".join(f"{k} {v}" for k, v in PUBLISHED_CHANGEPOINT_NAB.items()))

    print("\nScoring speed of the default detector (8 signals, trained on 400 rows)")
    rng = np.random.default_rng(0)
    train = rng.normal(size=(400, 8))
    det = build(DEFAULT).fit(train)
    stream = rng.normal(size=(1_000_000, 8))
    best = np.inf
    for _ in range(3):
        t = time.perf_counter()
        det.alarms(stream)
        best = min(best, time.perf_counter() - t)
    print(
        f"{len(stream):,} samples in {best:.2f} s: {len(stream) / best:,.0f} samples a second "
        "(target 200,000)"
    )
    # shadow mode: 100 machines × 10 signals at 1 Hz = one minute of values per machine a minute
    det10 = build(DEFAULT).fit(rng.normal(size=(400, 10)))
    minute = rng.normal(size=(60 + det10.smoothing + det10.persistence + 5, 10))
    t = time.perf_counter()
    for _ in range(100):
        det10.alarms(minute)
    took = time.perf_counter() - t
    print(
        f"shadow scoring of one minute for 100 machines × 10 signals: {took * 1000:.0f} ms "
        f"({60 / took:,.0f}× faster than real time; store reads and writes not included)"
    )

    shadow_on_store(machines=100, signals=10, minutes=10)


def shadow_on_store(*, machines: int, signals: int, minutes: int) -> None:
    """Shadow runs on the embedded store: ``machines`` × ``signals`` values at 1 Hz, models
    trained on the first 7 minutes, then one shadow run per machine over the rest."""
    import datetime as dt
    import tempfile

    import pyarrow as pa

    from pilotline.ai import shadow
    from pilotline.store import EmbeddedStore

    rng = np.random.default_rng(1)
    t0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC).replace(tzinfo=None)  # as stored
    n = minutes * 60
    ts = pa.array([t0 + dt.timedelta(seconds=i) for i in range(n)], pa.timestamp("us"))
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp))
        with store.session(write=True) as s:
            for m in range(machines):
                values = rng.normal(size=(n, signals)).cumsum(axis=0) * 0.01 + rng.normal(
                    size=(n, signals)
                )
                s.append("process_values", pa.table({
                    "machine": [f"m{m}"] * (n * signals),
                    "tag": [f"s{j}" for j in range(signals) for _ in range(n)],
                    "ts": pa.concat_arrays([ts] * signals),
                    "value": values.T.ravel(),
                }))  # fmt: skip
        start, cut = t0.replace(tzinfo=dt.UTC), t0.replace(tzinfo=dt.UTC) + dt.timedelta(minutes=7)
        tags = [f"s{j}" for j in range(signals)]
        t = time.perf_counter()
        for m in range(machines):
            shadow.train_on_store(store, name=f"m{m}", machine=f"m{m}", tags=tags, start=start,
                                  end=cut, trained_by="bench")  # fmt: skip
        trained = time.perf_counter() - t
        t = time.perf_counter()
        rows = 0
        for m in range(machines):
            rows += shadow.run(store, f"m{m}", until=start + dt.timedelta(minutes=minutes)).rows
        ran = time.perf_counter() - t
    scored_s = rows / machines
    print(
        f"shadow mode on the embedded store, {machines} machines × {signals} signals: trained "
        f"{machines} models in {trained:.1f} s; one run each over {scored_s:.0f} s of values took "
        f"{ran:.1f} s ({scored_s / ran:,.1f} s of data per second of work "
        f"for all {machines}: {'keeps up' if ran < scored_s else 'does NOT keep up'})"
    )


if __name__ == "__main__":
    main()
