"""AI steps as small experiments: detectors and quality models that must beat a simple baseline."""

from pilotline.ai.backtest import Backtest, Costs, backtest
from pilotline.ai.data import Dataset, read_recordings
from pilotline.ai.detectors import DEFAULT, DETECTORS, Detector, build
from pilotline.ai.quality import QualityReport, predict_quality

__all__ = [
    "DEFAULT",
    "DETECTORS",
    "Backtest",
    "Costs",
    "Dataset",
    "Detector",
    "QualityReport",
    "backtest",
    "build",
    "predict_quality",
    "read_recordings",
]
