"""The demo plant: a small metal-pressing and machining works, written as a plant.toml."""

from __future__ import annotations

_HEADER = """# Demo plant written by `pilotline demo`. Edit freely; see `pilotline init` for every option.
oee_target = 0.85

[site]
name = "Demo Works"
timezone = "{timezone}"

[cleaning]
minor_stop_s = 120
performance_flag = 1.0

[[calendars]]
name = "two-shift"
holidays = []

  [[calendars.shifts]]
  name = "Early"
  start = "06:00"
  end = "14:00"
  days = ["mon", "tue", "wed", "thu", "fri"]
  breaks = [{{ start = "08:00", minutes = 15 }}, {{ start = "10:00", minutes = 30 }}, {{ start = "12:30", minutes = 15 }}]

  [[calendars.shifts]]
  name = "Late"
  start = "14:00"
  end = "22:00"
  days = ["mon", "tue", "wed", "thu", "fri"]
  breaks = [{{ start = "16:00", minutes = 15 }}, {{ start = "18:00", minutes = 30 }}, {{ start = "20:30", minutes = 15 }}]
"""

_KINDS = (
    ("press", "Press", 1.0),
    ("cnc", "CNC", 42.0),
    ("weld", "Weld cell", 20.0),
    ("pack", "Packer", 2.5),
)


def demo_plant_text(
    *, machines: int = 6, machines_per_line: int = 3, timezone: str = "Europe/London"
) -> str:
    """A plant.toml with ``machines`` machines on lines of ``machines_per_line``."""
    parts = [_HEADER.format(timezone=timezone)]
    for n in range(machines):
        if n % machines_per_line == 0:
            parts.append(
                f'\n[[lines]]\nname = "Line {n // machines_per_line + 1}"\ncalendar = "two-shift"\n'
            )
        key, label, ict = _KINDS[(n // machines_per_line) % len(_KINDS)]
        number = n % machines_per_line + 1
        parts.append(
            f'\n  [[lines.machines]]\n  id = "{key}-{n + 1}"\n  name = "{label} {number}"\n'
            f"  ideal_cycle_s = {ict}\n"
        )
    return "".join(parts)
