"""The command line: ``pilotline --help``."""

from pilotline.cli.app import app, main

__all__ = ["app", "main"]
