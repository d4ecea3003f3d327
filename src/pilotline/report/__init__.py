"""Reports people read: the self-contained HTML shift report."""

from pilotline.report.shift import render_shift_report

__all__ = ["render_shift_report"]
