"""Map: process mining on event logs — see the real process before anyone automates it."""

from pilotline.map.log import EventLog, LogColumns, read_log
from pilotline.map.summary import Miner

__all__ = ["EventLog", "LogColumns", "Miner", "read_log"]
