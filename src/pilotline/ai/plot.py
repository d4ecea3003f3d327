"""A back-test on one time axis per recording: the signals, the labelled events and the alarms of
the chosen detector and of Hotelling T², as a self-contained HTML page (plotly, no download)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from pilotline.ai.backtest import Backtest
from pilotline.ai.data import Dataset
from pilotline.ai.metrics import runs


def backtest_html(data: Dataset, result: Backtest, path: Path, *, recordings: int = 6) -> int:
    """Write the page to ``path``; returns how many recordings it shows (the first ones)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    shown = data.recordings[:recordings]
    chosen = result.chosen.detector
    fig = make_subplots(
        rows=len(shown), cols=1, subplot_titles=[r.name for r in shown], vertical_spacing=0.05
    )
    for i, (rec, k) in enumerate(zip(shown, result.train_rows, strict=False), start=1):
        t = [dt.datetime.fromtimestamp(float(s), dt.UTC) for s in rec.seconds]
        sd = rec.values.std(axis=0)
        z = (rec.values - rec.values.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        for j, name in enumerate(data.signals):
            fig.add_trace(
                go.Scattergl(x=t, y=z[:, j], name=name, mode="lines", line={"width": 1},
                             legendgroup=name, showlegend=i == 1),
                row=i, col=1,
            )  # fmt: skip
        fig.add_vrect(x0=t[0], x1=t[k - 1], fillcolor="#90caf9", opacity=0.2, line_width=0,
                      row=i, col=1)  # fmt: skip
        if rec.label is not None:
            for a, b in runs(rec.label):
                fig.add_vrect(x0=t[a], x1=t[b], fillcolor="#e53935", opacity=0.15,
                              line_width=0, row=i, col=1)  # fmt: skip
        for name, y, colour in ((chosen, 4.5, "#ef6c00"), ("hotelling_t2", 5.5, "#616161")):
            alarm = result.alarms[name][i - 1]
            xs: list[dt.datetime | None] = []
            for a, b in runs(alarm):
                xs += [t[k + a], t[k + b], None]
            fig.add_trace(
                go.Scatter(x=xs, y=[y if x is not None else None for x in xs], mode="lines",
                           line={"color": colour, "width": 6}, name=f"alarm: {name}",
                           legendgroup=name, showlegend=i == 1),
                row=i, col=1,
            )  # fmt: skip
    fig.update_layout(
        title=f"Back-test of {chosen}: signals (standardised), training window (blue), labelled "
        f"events (red), alarms of {chosen} (orange) and of Hotelling T² (grey)",
        height=320 * len(shown) + 120,
        template="plotly_white",
    )
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return len(shown)
