"""Live data: connectors (MQTT, OPC UA, Modbus TCP), the durable buffer and the collector runtime."""

from pilotline.connect.buffer import Buffer
from pilotline.connect.config import CollectConfig, load_collect_config, parse_collect_config
from pilotline.connect.forward import Forwarder
from pilotline.connect.runtime import Collector, probe
from pilotline.connect.samples import ROLES, Sample

__all__ = [
    "ROLES",
    "Buffer",
    "CollectConfig",
    "Collector",
    "Forwarder",
    "Sample",
    "load_collect_config",
    "parse_collect_config",
    "probe",
]
