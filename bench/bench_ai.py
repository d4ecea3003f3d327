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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pilotline.ai.backtest import backtest
from pilotline.ai.data import read_recordings
from pilotline.ai.detectors import DEFAULT, DETECTORS, Detector, HotellingT2, build

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
    parser.add_argument(
        "--live-minutes",
        type=int,
        default=3,
        help="minutes of shadow mode beside a live collector (0: skip)",
    )
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
    print("\nThe control charts against SKAB's reference code (waico/SKAB core/t2.py, notebooks)")
    plain = outlier_scores(data, lambda: HotellingT2(median=1, limit=1.0))
    print(f"{'hotelling_t2 without median, 1 x limit':<44}{_row(plain)}")
    print(f"{'hotelling_t2 (= SKAB: median 5, 2 x limit)':<44}"
          f"{_row(outlier_scores(data, lambda: build('hotelling_t2')))}   published 0.66 / 19.21 / 42.60")  # fmt: skip
    print(f"{'SKAB T2+Q code re-implemented':<44}{_row(skab_t2q(data))}   published 0.76 / 26.62 / 24.92")  # fmt: skip
    print(f"{'pca_t2q (ours)':<44}{_row(outlier_scores(data, lambda: build('pca_t2q')))}")

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
    if args.live_minutes:
        shadow_with_collector(machines=100, signals=10, minutes=args.live_minutes)


def _row(s: tuple[float, float, float]) -> str:
    return f"F1 {s[0]:.3f}  FAR {s[1]:6.2f} %  MAR {s[2]:6.2f} %"


def _binary(preds: list[np.ndarray], labels: list[np.ndarray]) -> tuple[float, float, float]:
    p, y = np.concatenate(preds), np.concatenate(labels)
    tp, fp, fn = int((p & y).sum()), int((p & ~y).sum()), int((~p & y).sum())
    tn = len(p) - tp - fp - fn
    return tp / (tp + (fn + fp) / 2), 100 * fp / (fp + tn), 100 * fn / (fn + tp)


def outlier_scores(data: Any, make: Callable[[], Detector]) -> tuple[float, float, float]:
    """F1, FAR %, MAR % of a detector made by ``make``, SKAB's protocol (400 rows train)."""
    preds, labels = [], []
    for rec in data.recordings:
        det = make().fit(rec.values[:400])
        preds.append(det.alarms(rec.values[400:]))
        labels.append(rec.label[400:])
    return _binary(preds, labels)


def skab_t2q(data: Any) -> tuple[float, float, float]:
    """SKAB's T²+Q as its code computes it (T2(scaling=True, using_pca=True), predict with
    window_size=5, alarm where T² > its limit or Q > its limit), scored on the test rows. Its Q
    limit takes θ_i = (Σλ)^i over the residual eigenvalues, not Σλ^i (Jackson–Mudholkar), so
    h0 = 1/3 and the limit is about 11 × Σλ: looser than the textbook one ours uses."""
    from math import sqrt

    from scipy.stats import f, norm
    from sklearn.decomposition import PCA

    from pilotline.ai.detectors import trailing_median

    grid = np.linspace(0, 15, 10000)
    preds, labels = [], []
    for rec in data.recordings:
        train = rec.values[:400]
        mu, sd = train.mean(axis=0), train.std(axis=0)
        x_tr = (train - mu) / sd
        pca = PCA(n_components=0.85).fit(x_tr)
        k, ev, n = pca.n_components_, pca.components_.T, len(x_tr)
        inv = np.linalg.inv(np.cov(pca.transform(x_tr).T))
        t2_ucl = k * (n - 1) * (n + 1) / (n * (n - k)) * grid[f.cdf(grid, k, n - k) < 0.999][-1]
        w = np.linalg.eig(np.cov(x_tr.T))[0].real
        th = [float(w[k:].sum()) ** i for i in (1, 2, 3)]
        h0 = 1 - 2 * th[0] * th[2] / (3 * th[1] ** 2)
        c = grid[norm.cdf(grid) < 0.999][-1]
        q_ucl = th[0] * (
            1 + c * h0 * sqrt(2 * th[1]) / th[0] + th[1] * h0 * (h0 - 1) / th[0] ** 2
        ) ** (1 / h0)
        # the median runs over the whole file in SKAB's code: score from the training rows on
        pc, xa = pca.transform((rec.values - mu) / sd), (rec.values - mu) / sd
        t2 = trailing_median(np.einsum("ij,jk,ik->i", pc, inv, pc), 5)[400:]
        q = trailing_median(np.einsum("ij,jk,ik->i", xa, np.eye(len(ev)) - ev @ ev.T, xa), 5)[400:]
        preds.append((t2 > t2_ucl) | (q > q_ucl))
        labels.append(rec.label[400:])
    return _binary(preds, labels)


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


def shadow_with_collector(*, machines: int, signals: int, minutes: int) -> None:
    """Shadow mode while a collector stores live values: a real Mosquitto on loopback, ``pilotline
    collect`` in its own process subscribed to ``machines`` × ``signals`` tags, a publisher sending
    each machine's readings once a second (wall clock), and once a minute one shadow run per
    machine in this process, as cron would start it. Printed: each round's time for all machines
    (it keeps up if under 60 s), and values published against values stored."""
    import datetime as dt
    import json
    import subprocess
    import sys
    import tempfile
    import threading

    import paho.mqtt.client as mqtt
    import pyarrow as pa
    from paho.mqtt.enums import CallbackAPIVersion

    from pilotline.ai import shadow
    from pilotline.plant import parse_plant
    from pilotline.sim import demo_plant_text
    from pilotline.store import EmbeddedStore

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from tests.connect.conftest import Mosquitto

    rng = np.random.default_rng(2)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        text = demo_plant_text(machines=machines)
        (home / "plant.toml").write_text(text)
        ids = [m.id for _, m in parse_plant(text).machines]
        tags = [f"s{j}" for j in range(signals)]
        # seven minutes of normal running before now, stored directly: the models' training window
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        start = now - dt.timedelta(minutes=7)
        n = 7 * 60
        ts = pa.array([(start + dt.timedelta(seconds=i)).replace(tzinfo=None) for i in range(n)],
                      pa.timestamp("us"))  # fmt: skip
        store = EmbeddedStore(home, lock_timeout_s=60)
        with store.session(write=True) as s:
            for m in ids:
                values = rng.normal(size=(n, signals))
                s.append("process_values", pa.table({
                    "machine": [m] * (n * signals),
                    "tag": [f"{t}-{m}" for t in tags for _ in range(n)],
                    "ts": pa.concat_arrays([ts] * signals),
                    "value": values.T.ravel(),
                }))  # fmt: skip
        for m in ids:
            shadow.train_on_store(store, name=m, machine=m, tags=[f"{t}-{m}" for t in tags],
                                  start=start, end=now, trained_by="bench")  # fmt: skip
        broker = Mosquitto(Path(tmp))
        broker.start()
        config = home / "collect.toml"
        config.write_text(
            f'forward_every_s = 1.0\n\n[[source]]\nkind = "mqtt"\nname = "broker"\n'
            f"port = {broker.port}\n"
            + "".join(
                f'\n[[source.tag]]\nname = "{t}-{m}"\nmachine = "{m}"\nrole = "value"\n'
                f'topic = "plant/{m}"\npath = "{t}"\nts_path = "ts"\n'
                for m in ids
                for t in tags
            )
        )
        collector = subprocess.Popen(
            [str(Path(sys.executable).parent / "pilotline"), "--home", str(home), "collect",
             str(config)],
            stdout=subprocess.DEVNULL, stderr=(home / "collect.log").open("w"),
        )  # fmt: skip
        published = 0
        stop = threading.Event()

        def publish() -> None:
            nonlocal published
            pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-plant")
            pub.connect("127.0.0.1", broker.port)
            pub.loop_start()
            tick = time.monotonic()
            while not stop.is_set():
                at = dt.datetime.now(dt.UTC).isoformat()
                for m in ids:
                    body = {
                        "ts": at,
                        **{
                            t: float(v) for t, v in zip(tags, rng.normal(size=signals), strict=True)
                        },
                    }
                    pub.publish(f"plant/{m}", json.dumps(body).encode(), qos=1)
                published += signals * len(ids)
                tick += 1.0
                stop.wait(max(0.0, tick - time.monotonic()))
            pub.loop_stop()
            pub.disconnect()

        try:
            time.sleep(5)  # the collector connects and subscribes
            if collector.poll() is not None:
                raise SystemExit("the collector stopped: " + (home / "collect.log").read_text())
            sender = threading.Thread(target=publish, daemon=True)
            sender.start()
            rounds = []
            for _ in range(minutes):
                time.sleep(max(0.0, 60 - (rounds[-1][0] if rounds else 0)))
                t = time.perf_counter()
                rows = sum(shadow.run(store, m).rows for m in ids)
                rounds.append((time.perf_counter() - t, rows))
            stop.set()
            sender.join()
            time.sleep(5)  # the last values reach the store
        finally:
            collector.terminate()
            collector.wait(30)
            broker.stop()
        with store.session() as s:
            stored = int(s.scalar("SELECT count(*) FROM process_values")) - n * signals * machines
    took = ", ".join(
        f"{r:.1f} s ({rows / machines:.0f} s of values a machine)" for r, rows in rounds
    )
    print(
        f"shadow mode beside a live collector (Mosquitto, pilotline collect in its own process, "
        f"{machines} machines × {signals} signals at 1 Hz = {machines * signals:,} values a "
        f"second): one round of {machines} shadow runs a minute took {took}; "
        f"{'keeps up' if max(r for r, _ in rounds) < 60 else 'does NOT keep up'}. "
        f"Values published {published:,}, stored {stored:,}."
    )


if __name__ == "__main__":
    main()
