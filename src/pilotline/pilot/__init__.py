"""Pilot: small experiments with honest statistics — design, plan, evaluate, value, decide."""

from pilotline.pilot.evaluate import Sources, evaluate, plan
from pilotline.pilot.spec import Pilot, load_pilot

__all__ = ["Pilot", "Sources", "evaluate", "load_pilot", "plan"]
