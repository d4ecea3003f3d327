"""Reports people read: the shift report (HTML with static charts, on the web and as a file)."""

from pilotline.report.shift import (
    ShiftChoice,
    completed_shifts,
    find_shift,
    last_completed_shift,
    render_body,
    render_shift_report,
)

__all__ = [
    "ShiftChoice",
    "completed_shifts",
    "find_shift",
    "last_completed_shift",
    "render_body",
    "render_shift_report",
]
