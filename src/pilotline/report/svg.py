"""Small static SVG charts for printed and offline reports: no script, a few kilobytes each.

Each function returns one ``<svg>`` element (a ``viewBox``, so it scales to the page width and
prints sharply). Numbers are rounded before they are written, so a figure never reads "-0".
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

W = 1000  # the viewBox width every chart is drawn in


def whole(x: float) -> str:
    """A rounded figure that never reads "-0"."""
    return f"{round(x) + 0:,}"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _svg(height: float, body: list[str], label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {W} {height:.0f}" role="img" aria-label="{_esc(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg>'
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # the bar's length, in the chart's unit
    text: str  # written at the end of the bar
    colour: str = "#37474f"


def hbars(
    bars: Sequence[Bar], *, label: str, top: float, marker: tuple[float, str] | None = None
) -> str:
    """Horizontal bars from 0 to ``top``; ``marker`` a dashed line at a value with its label
    (a target)."""
    row, left, right = 26, 300, 200
    span = W - left - right
    height = row * len(bars) + 34
    body = []
    for i, b in enumerate(bars):
        y = 24 + i * row
        width = max(0.0, min(b.value, top)) / top * span if top > 0 else 0.0
        body.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{_esc(b.label[:40])}</text>'
            f'<rect x="{left}" y="{y + 2}" width="{width:.1f}" height="{row - 6}" fill="{b.colour}"/>'
            f'<text x="{left + width + 6:.1f}" y="{y + 15}">{_esc(b.text)}</text>'
        )
    if marker:
        x = left + min(marker[0], top) / top * span
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="18" y2="{height - 8}" stroke="#2e7d32" '
            f'stroke-dasharray="6 4" stroke-width="2"/><text x="{x:.1f}" y="13" '
            f'text-anchor="middle" fill="#2e7d32">{_esc(marker[1])}</text>'
        )
    return _svg(height, body, label)


def _wrap(text: str, width: int) -> list[str]:
    """Words in lines of about ``width`` characters (a long word keeps its own line)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


@dataclass(frozen=True)
class Step:
    label: str
    seconds: float  # a total (from zero) or a loss (negative: time taken away)
    total: bool


def waterfall(steps: Sequence[Step], *, label: str) -> str:
    """The loss tree as columns: totals from zero in grey, losses hanging from the level before
    in red (a gain, such as parts faster than ideal, in orange). Minutes are written above."""
    height, base, top_pad = 330, 262, 24
    n = len(steps)
    col = W / n
    top = max((s.seconds for s in steps if s.total), default=1.0) or 1.0

    def y(seconds: float) -> float:
        return base - max(0.0, seconds) / top * (base - top_pad)

    body = [f'<line x1="0" x2="{W}" y1="{base}" y2="{base}" stroke="#90a4ae"/>']
    level = 0.0
    for i, s in enumerate(steps):
        x = i * col + col * 0.15
        minutes = s.seconds / 60
        if s.total:
            a, b, colour, text = 0.0, s.seconds, "#37474f", whole(minutes)
            level = s.seconds
        else:
            a, b = level, level + s.seconds
            level = b
            colour = "#c62828" if s.seconds <= 0 else "#ef6c00"
            text = (
                whole(-minutes) if s.seconds <= 0 or whole(minutes) == "0" else "+" + whole(minutes)
            )
        y0, y1 = sorted((y(a), y(b)))
        body.append(
            f'<rect x="{x:.1f}" y="{y0:.1f}" width="{col * 0.7:.1f}" height="{max(y1 - y0, 1):.1f}" '
            f'fill="{colour}"/><text x="{i * col + col / 2:.1f}" y="{y0 - 5:.1f}" '
            f'text-anchor="middle">{text}</text>'
        )
        for k, line in enumerate(_wrap(s.label, 11)):
            body.append(
                f'<text class="small" x="{i * col + col / 2:.1f}" y="{base + 16 + 14 * k}" '
                f'text-anchor="middle">{_esc(line)}</text>'
            )
    return _svg(height, body, label)


@dataclass(frozen=True)
class Span:
    start: float  # epoch seconds
    end: float
    kind: str  # a CSS class: the loss category


def timeline(rows: dict[str, list[Span]], *, lo: float, hi: float, label: str) -> str:
    """One row of state bars per machine over ``[lo, hi)``; bars thinner than a tenth of a unit
    of the 1000-wide box are merged into their neighbours, so a shift of a whole plant stays
    small. Hour ticks along the top are left to the caller's caption."""
    row, left = 22, 150
    span = W - left - 10
    height = row * len(rows) + 10
    body = []
    scale = span / (hi - lo) if hi > lo else 0.0
    for i, (name, spans) in enumerate(rows.items()):
        y = 5 + i * row
        body.append(
            f'<text class="small" x="{left - 6}" y="{y + 15}" text-anchor="end">{_esc(name[:22])}</text>'
        )
        merged: list[tuple[float, float, str]] = []
        for s in spans:
            x0 = round(left + (max(s.start, lo) - lo) * scale, 1)
            x1 = round(left + (min(s.end, hi) - lo) * scale, 1)
            if x1 <= x0:
                continue
            if merged and merged[-1][2] == s.kind and x0 - merged[-1][1] < 0.15:
                merged[-1] = (merged[-1][0], x1, s.kind)
            else:
                merged.append((x0, x1, s.kind))
        for x0, x1, kind in merged:
            body.append(
                f'<rect class="{kind}" x="{x0}" y="{y + 2}" width="{x1 - x0:.1f}" '
                f'height="{row - 5}"/>'
            )
    return _svg(height, body, label)
