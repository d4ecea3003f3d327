"""The plant simulator: a deterministic virtual plant that powers the demo, tests and benchmarks."""

from pilotline.sim.demo import demo_plant_text
from pilotline.sim.plant import Behaviour, Simulation, simulate

__all__ = ["Behaviour", "Simulation", "demo_plant_text", "simulate"]
