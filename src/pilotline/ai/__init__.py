"""AI steps as small experiments: detectors and quality models that must beat a simple baseline."""
