"""Anomaly detectors over a machine's process values (rows in time order × signals).

Every detector learns from a window taken as normal (:meth:`Detector.fit`), scores new rows
(higher is stranger) and alarms where the score passes the threshold learnt from that window —
for as long as it stays above, once it has been above for ``persistence`` rows in a row (one
sample's blip is no alarm). Smoothing and persistence look only backwards, so a row's alarm never
depends on rows after it: what the back-test measures is what shadow mode will see.

The catalogue (:data:`DETECTORS`) is data: a name, what it is in plain words, and how to build it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pilotline.errors import InputError

Array = NDArray[np.float64]


def trailing_mean(x: Array, window: int) -> Array:
    """Mean of each row's score and the ``window - 1`` before it (fewer at the start).

    Summed window by window, not as differences of one running sum: a single huge score (a
    sensor's 4,294,967,295 "no value" code) would swamp a running sum's precision, or make it
    infinite, and leave every later mean wrong — the detector blind for the rest of the stream."""
    if window <= 1 or len(x) == 0:
        return x
    n = len(x)
    total = np.zeros(n, dtype=np.float64)
    for k in range(min(window, n)):
        total[k:] += x[: n - k]
    return np.asarray(total / np.minimum(np.arange(1, n + 1), window), dtype=np.float64)


def trailing_median(x: Array, window: int) -> Array:
    """Median of each row's score and the ``window - 1`` before it (fewer at the start)."""
    if window <= 1 or len(x) == 0:
        return x
    n = len(x)
    stacked = np.full((n, window), np.nan)
    for k in range(window):
        stacked[k:, k] = x[: n - k]
    with np.errstate(invalid="ignore"):
        return np.asarray(np.nanmedian(stacked, axis=1), dtype=np.float64)


def persistent(raw: NDArray[np.bool_], rows: int) -> NDArray[np.bool_]:
    """True where ``raw`` has been true for at least ``rows`` rows in a row, this one included."""
    if rows <= 1 or len(raw) == 0:
        return raw.copy()
    idx = np.arange(len(raw))
    last_false = np.maximum.accumulate(np.where(raw, -1, idx))
    return raw & (idx - last_false >= rows)


def onsets(alarm: NDArray[np.bool_]) -> NDArray[np.intp]:
    """Row numbers where an alarm starts (the row before it was quiet, or it is the first row)."""
    a = alarm.astype(bool)
    prev = np.concatenate([[False], a[:-1]])
    return np.flatnonzero(a & ~prev)


class Detector:
    """Base: a scaler learnt from the normal window, a score, a threshold and persistence."""

    name = "base"
    smoothing = 1  # rows in the trailing mean of the score
    quantile = 0.999  # of the training scores, for the threshold
    margin = 1.0  # threshold = margin × that quantile

    def __init__(self, *, persistence: int = 3) -> None:
        self.persistence = persistence
        self.threshold = float("inf")
        self.used: NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self.center: Array = np.zeros(0)
        self.scale: Array = np.zeros(0)

    # -- what subclasses provide -------------------------------------------------------------
    def _fit(self, z: Array) -> None:
        """Learn from standardised training rows (only the signals used)."""

    def _score(self, z: Array) -> Array:
        raise NotImplementedError

    # -- the shared part ------------------------------------------------------------------------
    def _standardise(self, x: Array) -> Array:
        return np.asarray((x[:, self.used] - self.center) / self.scale, dtype=np.float64)

    def _choose_signals(self, x: Array) -> NDArray[np.bool_]:
        """Signals that vary in the training window (a constant one carries nothing to learn)."""
        return np.asarray(np.nanstd(x, axis=0) > 0, dtype=bool)

    def fit(self, train: Array) -> Detector:
        """Learn what normal looks like from ``train`` and set the threshold from its scores."""
        train = np.asarray(train, dtype=np.float64)
        if train.ndim != 2 or len(train) < 10:
            raise InputError(
                f"the training window has {len(train)} rows; at least 10 rows of normal running "
                "are needed (a few hundred is better)"
            )
        self.used = self._choose_signals(train)
        if not self.used.any():
            raise InputError(
                "every signal is constant in the training window: there is nothing to learn; "
                "choose a window where the machine runs"
            )
        self.center = np.asarray(train[:, self.used].mean(axis=0), dtype=np.float64)
        self.scale = np.asarray(train[:, self.used].std(axis=0), dtype=np.float64)
        self.scale[self.scale == 0] = 1.0
        z = self._standardise(train)
        self._fit(z)
        s = trailing_mean(self._score(z), self.smoothing)
        settled = s[min(self.smoothing, len(s) - 1) :]
        self.threshold = float(self.margin * np.quantile(settled, self.quantile))
        return self

    def score(self, x: Array) -> Array:
        """Strangeness of each row (trailing-smoothed), comparable with :attr:`threshold`."""
        with np.errstate(over="ignore", invalid="ignore"):  # a glitch scores inf: an alarm
            z = self._standardise(np.asarray(x, dtype=np.float64))
            return trailing_mean(self._score(z), self.smoothing)

    def alarms(self, x: Array) -> NDArray[np.bool_]:
        """True for each row in alarm (after the persistence filter)."""
        return persistent(self.score(x) > self.threshold, self.persistence)

    def parameters(self) -> dict[str, Any]:
        """What the detector learnt and was told, for the model record."""
        return {
            "persistence": self.persistence,
            "smoothing": self.smoothing,
            "quantile": self.quantile,
            "margin": self.margin,
        }


class NullDetector(Detector):
    """Never alarms: the "do nothing" every detector must beat."""

    name = "null"

    def fit(self, train: Array) -> Detector:
        train = np.asarray(train, dtype=np.float64)
        self.used = np.ones(train.shape[1], dtype=bool)
        self.center, self.scale = np.zeros(train.shape[1]), np.ones(train.shape[1])
        return self

    def _score(self, z: Array) -> Array:
        return np.zeros(len(z))


class HotellingT2(Detector):
    """Hotelling's T² as SKAB's reference computes it (``core/t2.py`` with scaling, as in its
    notebook ``t2_SKAB.ipynb``): the squared Mahalanobis distance of the standardised signals from
    the training mean, its median over the last ``median`` rows (5), in alarm above ``limit``
    (2) times the classical upper control limit from the F distribution (Phase II, false-alarm
    probability ``alpha`` = 0.001 per row). The median and the doubled limit are what SKAB's
    published F1 0.66 was obtained with; without them T² alarms in 39 % of normal running on
    SKAB (F1 0.75)."""

    name = "hotelling_t2"
    smoothing = 5  # rows of look-back the median needs (shadow mode reads them before a run)

    def __init__(
        self, *, persistence: int = 1, alpha: float = 0.001, median: int = 5, limit: float = 2.0
    ) -> None:
        super().__init__(persistence=persistence)
        self.alpha = alpha
        self.median = median
        self.limit = limit
        self.inverse: Array = np.zeros((0, 0))

    def _fit(self, z: Array) -> None:
        cov = np.cov(z, rowvar=False).reshape(z.shape[1], z.shape[1])
        self.inverse = np.asarray(np.linalg.pinv(cov), dtype=np.float64)

    def _score(self, z: Array) -> Array:
        return np.asarray(np.einsum("ij,jk,ik->i", z, self.inverse, z), dtype=np.float64)

    def score(self, x: Array) -> Array:
        with np.errstate(over="ignore", invalid="ignore"):
            z = self._standardise(np.asarray(x, dtype=np.float64))
            return trailing_median(self._score(z), self.median)

    def fit(self, train: Array) -> Detector:
        super().fit(train)
        from scipy.stats import f

        n, p = len(train), int(self.used.sum())
        if n > p + 1:
            self.threshold = float(
                self.limit * p * (n + 1) * (n - 1) / (n * (n - p)) * f.ppf(1 - self.alpha, p, n - p)
            )
        return self

    def parameters(self) -> dict[str, Any]:
        return {
            **super().parameters(),
            "alpha": self.alpha,
            "median": self.median,
            "limit": self.limit,
        }


class PcaT2Q(Detector):
    """PCA on the normal window: T² inside the principal subspace and Q (squared prediction error)
    outside it; the score is the larger of each over its control limit (alarm above 1)."""

    name = "pca_t2q"

    def __init__(
        self, *, persistence: int = 1, explained: float = 0.85, alpha: float = 0.001
    ) -> None:
        super().__init__(persistence=persistence)
        self.explained, self.alpha = explained, alpha
        self.components: Array = np.zeros((0, 0))
        self.variances: Array = np.zeros(0)
        self.t2_limit = self.q_limit = 1.0

    def _fit(self, z: Array) -> None:
        from scipy.stats import f, norm

        cov = np.cov(z, rowvar=False).reshape(z.shape[1], z.shape[1])
        values, vectors = np.linalg.eigh(cov)
        order = np.argsort(values)[::-1]
        values, vectors = np.clip(values[order], 0, None), vectors[:, order]
        share = np.cumsum(values) / max(values.sum(), 1e-12)
        k = min(int(np.searchsorted(share, self.explained)) + 1, len(values))
        self.components, self.variances = vectors[:, :k], np.maximum(values[:k], 1e-12)
        n = len(z)
        self.t2_limit = float(k * (n * n - 1) / (n * (n - k)) * f.ppf(1 - self.alpha, k, n - k))
        rest = values[k:]
        if len(rest) and rest.sum() > 0:  # Jackson & Mudholkar (1979)
            t1, t2, t3 = (float(np.sum(rest**i)) for i in (1, 2, 3))
            h0 = 1 - 2 * t1 * t3 / (3 * t2 * t2)
            c = float(norm.ppf(1 - self.alpha))
            self.q_limit = t1 * (
                c * np.sqrt(2 * t2 * h0 * h0) / t1 + 1 + t2 * h0 * (h0 - 1) / (t1 * t1)
            ) ** (1 / h0)

    def _score(self, z: Array) -> Array:
        t = z @ self.components
        t2 = (t * t / self.variances).sum(axis=1)
        residual = z - t @ self.components.T
        q = (residual * residual).sum(axis=1)
        return np.asarray(np.maximum(t2 / self.t2_limit, q / self.q_limit), dtype=np.float64)

    def fit(self, train: Array) -> Detector:
        super().fit(train)
        self.threshold = 1.0
        return self

    def parameters(self) -> dict[str, Any]:
        return {
            **super().parameters(),
            "explained": self.explained,
            "alpha": self.alpha,
            "components": int(self.components.shape[1]),
        }


class IsolationForestDetector(Detector):
    """scikit-learn's Isolation Forest: how quickly random cuts isolate a row (fixed seed)."""

    name = "isolation_forest"
    quantile = 0.99

    def __init__(self, *, persistence: int = 3, trees: int = 100) -> None:
        super().__init__(persistence=persistence)
        self.trees = trees
        self.forest: Any = None

    def _fit(self, z: Array) -> None:
        from sklearn.ensemble import IsolationForest  # type: ignore[import-untyped]

        self.forest = IsolationForest(n_estimators=self.trees, random_state=0).fit(z)

    def _score(self, z: Array) -> Array:
        return np.asarray(-self.forest.score_samples(z), dtype=np.float64)

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "trees": self.trees, "random_state": 0}


class RobustCusum(Detector):
    """Per signal: a robust z-score (median, MAD) fed to a two-sided CUSUM; the score is the
    largest CUSUM over the signals, so it names a slow drift that a single reading hides."""

    name = "robust_cusum"
    quantile = 1.0
    margin = 1.5

    def __init__(self, *, persistence: int = 3, slack: float = 0.5) -> None:
        super().__init__(persistence=persistence)
        self.slack = slack

    def fit(self, train: Array) -> Detector:
        train = np.asarray(train, dtype=np.float64)
        super().fit(train)
        med = np.median(train[:, self.used], axis=0)
        mad = 1.4826 * np.median(np.abs(train[:, self.used] - med), axis=0)
        self.center = med
        self.scale = np.where(mad > 0, mad, self.scale)
        s = self._score(self._standardise(train))
        self.threshold = float(max(self.margin * s.max(), 5.0))
        return self

    def _score(self, z: Array) -> Array:
        z = np.clip(z, -50, 50)
        hi, lo = np.zeros(z.shape[1]), np.zeros(z.shape[1])
        out = np.empty(len(z))
        for i, row in enumerate(z):  # recursive by nature; vectorised over the signals
            hi = np.maximum(0.0, hi + row - self.slack)
            lo = np.maximum(0.0, lo - row - self.slack)
            out[i] = max(hi.max(), lo.max())
        return out

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "slack": self.slack}


class ForecastResidual(Detector):
    """Per signal an autoregressive forecast (least squares on the normal window) of the next
    reading; the score is the sum of the squared standardised forecast errors."""

    name = "forecast_residual"
    quantile = 0.999

    def __init__(self, *, persistence: int = 3, lags: int = 5) -> None:
        super().__init__(persistence=persistence)
        self.lags = lags
        self.coef: Array = np.zeros((0, 0))
        self.noise: Array = np.zeros(0)

    def _design(self, z: Array) -> Array:
        """Lagged copies per signal: shape (rows, signals, lags + 1), the first rows padded."""
        padded = np.vstack([np.repeat(z[:1], self.lags, axis=0), z])
        lagged = [padded[self.lags - k : len(padded) - k] for k in range(1, self.lags + 1)]
        return np.stack([*lagged, np.ones_like(z)], axis=2)

    def _fit(self, z: Array) -> None:
        a = self._design(z)
        self.coef = np.stack(
            [np.linalg.lstsq(a[:, j, :], z[:, j], rcond=None)[0] for j in range(z.shape[1])]
        )
        residual = z - np.einsum("isk,sk->is", a, self.coef)
        self.noise = np.maximum(residual[self.lags :].std(axis=0), 1e-9)

    def _score(self, z: Array) -> Array:
        residual = (z - np.einsum("isk,sk->is", self._design(z), self.coef)) / self.noise
        return np.asarray((residual * residual).sum(axis=1) / z.shape[1], dtype=np.float64)

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "lags": self.lags}


class SteadyPca(PcaT2Q):
    """PCA T² + Q on the signals that hold steady during normal running, with the
    score smoothed over ``smoothing`` seconds and a margin over the worst normal score.

    A signal that trends through the normal window (a temperature warming up) says more about the
    time since start than about faults, and would raise false alarms later on; such signals (the
    R² of a straight line through the normal window above ``trend_r2``) are left out, each one
    named in the model record. Smoothing and the margin trade a few seconds of delay for far
    fewer false alarms on a collective fault (a valve sticking, a bearing wearing)."""

    name = "steady_pca"
    smoothing = 30
    quantile = 1.0
    margin = 1.5

    def __init__(self, *, persistence: int = 3, trend_r2: float = 0.3, **kw: Any) -> None:
        super().__init__(persistence=persistence, **kw)
        self.trend_r2 = trend_r2

    def _choose_signals(self, x: Array) -> NDArray[np.bool_]:
        varies = super()._choose_signals(x)
        t = np.arange(len(x), dtype=np.float64)
        t = (t - t.mean()) / max(t.std(), 1e-12)
        xs = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        r2 = (xs.T @ t / len(t)) ** 2  # squared correlation with time = R² of a straight line
        steady = varies & (r2 < self.trend_r2)
        return steady if steady.any() else varies

    def fit(self, train: Array) -> Detector:
        Detector.fit(self, train)  # the limits, then a threshold over the smoothed scores
        return self

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "trend_r2": self.trend_r2}


class ForecastWatch(ForecastResidual):
    """The default: the forecast-residual score averaged over the last ``smoothing`` seconds,
    alarming above the worst such average seen in the normal window.

    Each signal's own short-term dynamics are learnt, so a slow warm-up that the forecast follows
    raises no alarm, while a fault that breaks how the signals move (a valve sticking, a bearing
    wearing, cavitation) does; the average makes one odd reading harmless and a lasting change
    loud. Its two settings (10 s, the maximum of the normal window) were chosen among six tried on
    SKAB itself: the SKAB figures are therefore a little optimistic, and the back-test on the
    firm's own data is what counts."""

    name = "forecast_watch"
    smoothing = 10
    quantile = 1.0
    margin = 1.0


@dataclass(frozen=True)
class Entry:
    name: str
    summary: str
    build: Callable[[], Detector]


DETECTORS: dict[str, Entry] = {
    e.name: e
    for e in (
        Entry("null", "never alarms (the 'do nothing' baseline)", NullDetector),
        Entry(
            "hotelling_t2", "Hotelling T², the classical multivariate control chart", HotellingT2
        ),
        Entry("pca_t2q", "PCA T² + Q (squared prediction error)", PcaT2Q),
        Entry("isolation_forest", "scikit-learn Isolation Forest", IsolationForestDetector),
        Entry("robust_cusum", "robust z-score and CUSUM per signal", RobustCusum),
        Entry("forecast_residual", "autoregressive forecast error per signal", ForecastResidual),
        Entry("steady_pca", "PCA T² + Q on the steady signals, smoothed", SteadyPca),
        Entry("forecast_watch", "forecast error per signal, smoothed over 10 s", ForecastWatch),
    )
}
DEFAULT = "forecast_watch"
BASELINES = ("null", "hotelling_t2")


def build(name: str) -> Detector:
    """A fresh detector by catalogue name; a clear message for an unknown one."""
    if name not in DETECTORS:
        raise InputError(f"detector {name!r} is not known; choose one of {', '.join(DETECTORS)}")
    return DETECTORS[name].build()
