"""The plant simulator: a deterministic virtual plant that powers the demo, tests and benchmarks."""

from pilotline.sim.demo import demo_plant_text
from pilotline.sim.faults import FAULTS, FaultRun, fault_dataset, simulate_fault
from pilotline.sim.plant import Behaviour, Simulation, simulate

__all__ = [
    "FAULTS",
    "Behaviour",
    "FaultRun",
    "Simulation",
    "demo_plant_text",
    "fault_dataset",
    "simulate",
    "simulate_fault",
]
