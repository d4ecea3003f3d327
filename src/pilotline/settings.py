"""Pilotline's settings: one typed object, each setting with a default, help and environment variable.

``SETTINGS`` is the catalogue; ``Settings.from_env()`` reads it. The docs' settings table is
generated from ``SETTINGS`` and a test fails when the two disagree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pilotline.errors import SettingsError


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str
    help: str


def _default_home() -> str:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "pilotline")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home",
        "PILOTLINE_HOME",
        "$XDG_DATA_HOME/pilotline (usually ~/.local/share/pilotline)",
        "The data directory: plant model (plant.toml), the embedded store and reports.",
    ),
    Setting(
        "lock_timeout_s",
        "PILOTLINE_LOCK_TIMEOUT",
        "30",
        "Seconds to wait for another Pilotline process (a server, an import) to release the store.",
    ),
    Setting(
        "database_url",
        "PILOTLINE_DATABASE_URL",
        "(unset: the embedded store in the data directory)",
        "A PostgreSQL database for a plant server, e.g. postgresql://pilotline:secret@db:5432/pilotline.",
    ),
    Setting(
        "map_memory_mb",
        "PILOTLINE_MAP_MEMORY_MB",
        "(unset: DuckDB's default, 80 % of the memory)",
        "Memory cap for process mining on the embedded engine, in MB; beyond it the work spills "
        "to a temporary folder (a 5 GB CSV log: 3.2 GB peak with 2048).",
    ),
    Setting(
        "spark_master",
        "PILOTLINE_SPARK_MASTER",
        "local[2]",
        "Where --engine spark runs: local[N] (N cores here), spark://host:7077 (a cluster) or "
        "sc://host:15002 (Spark Connect).",
    ),
    Setting(
        "language",
        "PILOTLINE_LANGUAGE",
        "en",
        "Language of the web pages (a catalogue in pilotline/web/locales/<lang>; English built in).",
    ),
    Setting(
        "max_upload_mb",
        "PILOTLINE_MAX_UPLOAD_MB",
        "64",
        "Largest file the web app's data page accepts, in MB (bigger files: 'pilotline import').",
    ),
    Setting(
        "keep_values_days",
        "PILOTLINE_KEEP_VALUES_DAYS",
        "180",
        "Days of process values (temperatures, speeds: one row per reading) to keep; older ones "
        "are deleted by 'pilotline prune' and by running collectors once a day. 0 keeps all.",
    ),
    Setting(
        "keep_machine_data_days",
        "PILOTLINE_KEEP_MACHINE_DATA_DAYS",
        "0",
        "Days of machine states, part counts, counter readings and operator reasons to keep "
        "(the OEE history); 0 keeps all.",
    ),
    Setting(
        "hub_url",
        "PILOTLINE_HUB_URL",
        "(unset: no campaign hub)",
        "The campaign hub's address, e.g. https://hub.example: 'share campaign' and the web "
        "app's campaign page send to it and compare with its published benchmark.",
    ),
    Setting(
        "hub_firm",
        "PILOTLINE_HUB_FIRM",
        "(unset)",
        "Your firm's id at the campaign hub (the coordinator gives it).",
    ),
    Setting(
        "share_signing_key",
        "PILOTLINE_SHARE_SIGNING_KEY",
        "(unset: the read record is hash-chained, not signed)",
        "A key file kept outside the data directory ('share audit keygen' makes one): the "
        "server signs the head of the partners' read record with it, so a rewrite is caught.",
    ),
)


@dataclass(frozen=True)
class Settings:
    home: Path
    lock_timeout_s: float = 30.0
    max_upload_mb: float = 64.0
    language: str = "en"
    database_url: str | None = None
    keep_values_days: float = 180.0
    keep_machine_data_days: float = 0.0
    hub_url: str | None = None
    hub_firm: str | None = None
    share_signing_key: str | None = None

    @classmethod
    def from_env(cls, *, home: str | os.PathLike[str] | None = None) -> Settings:
        """Settings from the environment; an explicit ``home`` (``--home``) wins over it."""
        chosen = home or os.environ.get("PILOTLINE_HOME") or _default_home()
        raw = os.environ.get("PILOTLINE_LOCK_TIMEOUT", "30")
        try:
            timeout = float(raw)
        except ValueError:
            raise SettingsError(
                f"PILOTLINE_LOCK_TIMEOUT={raw!r} is not a number of seconds (e.g. 30)"
            ) from None
        raw = os.environ.get("PILOTLINE_MAX_UPLOAD_MB", "64")
        try:
            upload = float(raw)
            if upload <= 0:
                raise ValueError
        except ValueError:
            raise SettingsError(
                f"PILOTLINE_MAX_UPLOAD_MB={raw!r} is not a positive number of megabytes (e.g. 64)"
            ) from None
        language = os.environ.get("PILOTLINE_LANGUAGE", "en").strip() or "en"
        keep = {
            name: _days(name, os.environ.get(name, default))
            for name, default in (
                ("PILOTLINE_KEEP_VALUES_DAYS", "180"),
                ("PILOTLINE_KEEP_MACHINE_DATA_DAYS", "0"),
            )
        }
        return cls(
            home=Path(chosen).expanduser(),
            lock_timeout_s=timeout,
            max_upload_mb=upload,
            language=language,
            database_url=os.environ.get("PILOTLINE_DATABASE_URL", "").strip() or None,
            keep_values_days=keep["PILOTLINE_KEEP_VALUES_DAYS"],
            keep_machine_data_days=keep["PILOTLINE_KEEP_MACHINE_DATA_DAYS"],
            hub_url=os.environ.get("PILOTLINE_HUB_URL", "").strip() or None,
            hub_firm=os.environ.get("PILOTLINE_HUB_FIRM", "").strip() or None,
            share_signing_key=os.environ.get("PILOTLINE_SHARE_SIGNING_KEY", "").strip() or None,
        )

    def retention(self) -> dict[str, float]:
        """Days to keep per table (tables kept forever are left out)."""
        keep = {"process_values": self.keep_values_days}
        for table in ("states", "counts", "counter_readings", "operator_reasons"):
            keep[table] = self.keep_machine_data_days
        return {t: d for t, d in keep.items() if d > 0}


def _days(name: str, raw: str) -> float:
    try:
        days = float(raw)
        if days < 0:
            raise ValueError
    except ValueError:
        raise SettingsError(
            f"{name}={raw!r} is not a number of days (0 or more; 0 keeps everything)"
        ) from None
    return days
