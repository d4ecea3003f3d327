"""Measure: OEE and ISO 22400-2 KPIs, loss waterfall, downtime Pareto and state timelines."""

from pilotline.measure.kpis import KPIS, Kpi, Measure, parse_by, waterfall
from pilotline.measure.periods import GRAINS

__all__ = ["GRAINS", "KPIS", "Kpi", "Measure", "parse_by", "waterfall"]
