"""Quality prediction per part or batch: will it fail (be scrapped)? Judged honestly.

Rows are parts or batches in time order with numeric features (process values, settings) and a
0/1 outcome (1 = failed). Models — logistic regression and scikit-learn's histogram gradient
boosting — are cross-validated in time order only (each fold trains on the past, tests on the
next stretch). Beside them: the base rate, "always pass", "flag every part" (inspect all) and an
SPC-limit rule (a part outside mean ± 3 σ of the good parts on any feature is flagged). A feature
that alone separates failed from good parts almost perfectly is named as a likely leak of the
outcome (recorded after it, or encoding it), and the verdict then does not recommend a model. The alarm threshold of each model is
chosen by cost on the most recent quarter of its training data, never on the test stretch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pilotline.errors import InputError

Array = NDArray[np.float64]


@dataclass
class Judged:
    """One model or baseline over all test stretches together."""

    name: str
    balanced_error: float
    precision: float
    recall: float
    cost: float  # over the test stretches, in the user's money

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class QualityReport:
    rows: int
    base_rate: float
    folds: int
    results: list[Judged]
    importance: list[tuple[str, float]]  # feature, rise in balanced error when shuffled
    verdict: str
    leaks: list[tuple[str, float]] = field(default_factory=list)  # feature, its AUC alone

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "base_rate": round(self.base_rate, 4),
            "folds": self.folds,
            "results": [r.to_json() for r in self.results],
            "importance": [{"feature": f, "rise": round(v, 4)} for f, v in self.importance],
            "leaks": [{"feature": f, "auc": round(v, 4)} for f, v in self.leaks],
            "verdict": self.verdict,
        }


def _judge(
    name: str, y: NDArray[np.bool_], flag: NDArray[np.bool_], c_fp: float, c_fn: float
) -> Judged:
    tp, fp = int((y & flag).sum()), int((~y & flag).sum())
    fn, tn = int((y & ~flag).sum()), int((~y & ~flag).sum())
    tpr = tp / (tp + fn) if tp + fn else 0.0
    tnr = tn / (tn + fp) if tn + fp else 0.0
    return Judged(
        name=name,
        balanced_error=round(1 - (tpr + tnr) / 2, 4),
        precision=round(tp / (tp + fp), 4) if tp + fp else 0.0,
        recall=round(tpr, 4),
        cost=round(fp * c_fp + fn * c_fn, 2),
    )


def cost_threshold(y: NDArray[np.bool_], p: Array, c_fp: float, c_fn: float) -> float:
    """The probability above which flagging costs least on (``y``, ``p``)."""
    cands = np.unique(np.concatenate([[0.5], p]))
    costs = [((~y & (p >= t)).sum() * c_fp + (y & (p < t)).sum() * c_fn) for t in cands]
    return float(cands[int(np.argmin(costs))])


def _models() -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

    return {
        "logistic_regression": make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=1000, class_weight="balanced")
        ),
        "gradient_boosting": HistGradientBoostingClassifier(
            max_iter=40, max_leaf_nodes=15, class_weight="balanced", random_state=0
        ),
    }


def predict_quality(*args: Any, **kw: Any) -> QualityReport:
    """Time-ordered cross-validation of the models and baselines (see :func:`_predict`); one
    thread for the models: on a shared small server OpenMP's threads wait on each other."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(1):
        return _predict(*args, **kw)


def _predict(
    x: Array,
    y: NDArray[np.bool_],
    features: list[str],
    *,
    cost_false_alarm: float = 1.0,
    cost_missed: float = 10.0,
    folds: int = 5,
) -> QualityReport:
    """Time-ordered cross-validation of the models and baselines on rows ``x`` (in time order)."""
    from sklearn.base import clone  # type: ignore[import-untyped]
    from sklearn.inspection import permutation_importance  # type: ignore[import-untyped]
    from sklearn.model_selection import TimeSeriesSplit  # type: ignore[import-untyped]

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=bool)
    if len(x) < 10 * (folds + 1):
        raise InputError(
            f"{len(x)} parts are too few for {folds} time-ordered folds; at least "
            f"{10 * (folds + 1)} are needed"
        )
    if not np.isfinite(x).all():
        raise InputError("some features have gaps (no value); fill or drop those parts first")
    if y.all() or not y.any():
        raise InputError("every part has the same outcome: there is nothing to predict")
    for v, name in ((cost_false_alarm, "false alarm"), (cost_missed, "missed failure")):
        if not (0 <= v < 1e9):
            raise InputError(f"cost of a {name}: {v} is out of range (0 to 1,000,000,000)")
    flags: dict[str, list[NDArray[np.bool_]]] = {
        k: [] for k in ("always_pass", "flag_all", "spc_limits", *_models())
    }
    truth: list[NDArray[np.bool_]] = []
    last: tuple[Any, Array, NDArray[np.bool_]] | None = None
    for train, test in TimeSeriesSplit(n_splits=folds).split(x):
        xt, yt, xs, ys = x[train], y[train], x[test], y[test]
        truth.append(ys)
        flags["always_pass"].append(np.zeros(len(ys), dtype=bool))
        flags["flag_all"].append(np.ones(len(ys), dtype=bool))
        good = xt[~yt]
        mu, sd = good.mean(axis=0), good.std(axis=0)
        sd[sd == 0] = np.inf
        flags["spc_limits"].append((np.abs(xs - mu) > 3 * sd).any(axis=1))
        cut = int(len(xt) * 0.75)
        for name, model in _models().items():
            if yt[:cut].all() or not yt[:cut].any() or yt[cut:].all() or not yt[cut:].any():
                threshold = 0.5  # too few failures in a part of the past to pick by cost
            else:
                inner = clone(model).fit(xt[:cut], yt[:cut])
                p_in = inner.predict_proba(xt[cut:])[:, 1]
                threshold = cost_threshold(yt[cut:], p_in, cost_false_alarm, cost_missed)
            fitted = model.fit(xt, yt) if yt.any() and not yt.all() else None
            if fitted is None:
                flags[name].append(np.zeros(len(ys), dtype=bool))
                continue
            flags[name].append(fitted.predict_proba(xs)[:, 1] >= threshold)
            if name == "gradient_boosting":
                last = (fitted, xs, ys)
    y_all = np.concatenate(truth)
    results = [
        _judge(k, y_all, np.concatenate(v), cost_false_alarm, cost_missed) for k, v in flags.items()
    ]
    importance: list[tuple[str, float]] = []
    if last is not None and last[2].any() and not last[2].all():
        imp = permutation_importance(
            last[0], last[1], last[2], scoring="balanced_accuracy", n_repeats=2, random_state=0
        )
        order = np.argsort(imp.importances_mean)[::-1]
        importance = [(features[i], float(imp.importances_mean[i])) for i in order]
    leaks = leaking_features(x, y, features)
    return QualityReport(
        rows=len(x),
        base_rate=float(y.mean()),
        folds=folds,
        results=results,
        importance=importance,
        verdict=_verdict(results, leaks),
        leaks=leaks,
    )


#: A feature whose values alone rank failed above good parts (or below) this well is suspect.
LEAK_AUC = 0.99


def leaking_features(
    x: Array, y: NDArray[np.bool_], features: list[str]
) -> list[tuple[str, float]]:
    """Features that alone separate the outcome almost perfectly (AUC ≥ 0.99 either way): in
    real production a single process value rarely does; one recorded after the outcome (rework
    minutes, an inspection code) does, and makes any model look perfect."""
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    out = []
    for j, name in enumerate(features):
        # average ranks (ties share theirs): the Mann–Whitney form of the AUC
        _, inv, counts = np.unique(x[:, j], return_inverse=True, return_counts=True)
        r = (np.cumsum(counts) - (counts - 1) / 2.0)[inv]
        auc = (r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
        auc = max(auc, 1 - auc)
        if auc >= LEAK_AUC:
            out.append((name, float(auc)))
    return out


def _verdict(results: list[Judged], leaks: list[tuple[str, float]] | None = None) -> str:
    by = {r.name: r for r in results}
    if leaks:
        names = ", ".join(f"{f} (AUC {a:.2f})" for f, a in leaks)
        return (
            f"Too good to be true: {names} alone separates failed from good parts almost "
            "perfectly — it is probably recorded after the outcome or encodes it. Drop it and "
            "run again; don't deploy on this evidence."
        )
    base = (by["always_pass"], by["flag_all"], by["spc_limits"])
    best_base = min(base, key=lambda r: r.cost)
    best = min((by["logistic_regression"], by["gradient_boosting"]), key=lambda r: r.cost)
    if best.cost >= best_base.cost:
        return (
            f"Not better than the baseline ({best_base.name.replace('_', ' ')}): the best model "
            f"({best.name.replace('_', ' ')}) costs {best.cost:,.0f} against {best_base.cost:,.0f} "
            "over the test stretches — don't deploy."
        )
    return (
        f"{best.name.replace('_', ' ').capitalize()} costs {best.cost:,.0f} over the test stretches "
        f"against {best_base.cost:,.0f} for the best baseline ({best_base.name.replace('_', ' ')}); "
        f"it finds {best.recall:.0%} of failures with {best.precision:.0%} of its flags right."
    )


def plain_importance(importance: list[tuple[str, float]], top: int = 3) -> list[str]:
    """The features that matter, in words."""
    out = []
    for name, rise in importance[:top]:
        if rise <= 0.005:
            break
        out.append(f"Without {name}, the model's balanced error rises by {rise * 100:.1f} points.")
    return out or ["No single feature matters much on its own."]


def batches_from_recording(
    values: Array, label: NDArray[np.bool_], rows: int
) -> tuple[Array, NDArray[np.bool_]]:
    """Cut a recording into batches of ``rows`` rows: features are each signal's mean and
    standard deviation, the outcome is whether any row of the batch was labelled."""
    n = len(values) // rows
    if n == 0:
        raise InputError(f"the recording has fewer than {rows} rows: no batch can be made")
    v = values[: n * rows].reshape(n, rows, values.shape[1])
    x = np.concatenate([v.mean(axis=1), v.std(axis=1)], axis=1)
    return x, np.asarray(label[: n * rows].reshape(n, rows).any(axis=1), dtype=bool)
