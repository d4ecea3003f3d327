"""Which of a file's columns is which: suggested from the headers (English, German and French
words, as exports write them) and from the values, and remembered per source.

A suggestion is only a suggestion: the upload form shows it and a person confirms or changes it.
:func:`suggest` never maps two headers to one column, and a header it cannot place is left
unmapped rather than guessed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Set
from dataclasses import dataclass, field

from pilotline.ingest.parse import LAYOUTS
from pilotline.ingest.schemas import SCHEMAS, STATE_WORDS

#: Words a header may use for each column, beyond the column's own name and aliases. Compared
#: after :func:`normalise` (lower case, no accents, no punctuation).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "machine": (
        "maschine", "maschinen nr", "maschinennummer", "anlage", "anlagen nr", "arbeitsplatz",
        "ressource", "betriebsmittel", "station", "machine id", "equipement", "poste",
        "poste de travail", "work center", "workcenter", "asset id", "machine name",
    ),
    "ts": (
        "zeitstempel", "zeit", "zeitpunkt", "datum zeit", "datum uhrzeit", "uhrzeit", "datum",
        "horodatage", "date heure", "date et heure", "heure", "date", "time stamp",
        "event time", "beginn", "von", "debut",
    ),
    "state": (
        "zustand", "status", "maschinenzustand", "betriebszustand", "etat", "statut",
        "etat machine", "machine status",
    ),
    "reason": (
        "grund", "ursache", "stillstandsgrund", "storgrund", "stoergrund", "stillstandsursache",
        "reason", "motif", "raison", "cause arret", "code arret", "motif arret", "stop reason",
        "downtime reason", "reason code", "grund code",
    ),
    "end": ("ende", "bis", "endzeit", "fin", "jusqu a", "heure de fin", "end time"),
    "start": ("beginn", "von", "anfang", "startzeit", "debut", "heure de debut", "start time"),
    "total": (
        "menge", "anzahl", "stuck", "stueck", "stuckzahl", "stueckzahl", "gesamt", "teile",
        "gutteile und ausschuss", "produziert", "quantite", "nombre", "pieces", "production",
        "total parts", "output", "good and bad",
    ),
    "reject": ("ausschuss", "schlecht", "schlechtteile", "nio", "rebut", "rebuts", "rejets"),
    "rework": ("nacharbeit", "retouche", "reprise", "reworked"),
    "product": (
        "artikel", "artikelnummer", "produkt", "teil", "teilenummer", "sachnummer", "material",
        "produit", "article", "reference", "item",
    ),
    "work_order": (
        "auftrag", "auftragsnummer", "fertigungsauftrag", "ordre", "ordre de fabrication", "of",
        "work order", "wo", "production order", "job",
    ),
    "reject_reason": ("ausschussgrund", "fehlergrund", "motif rebut", "cause rebut", "defect"),
    "counter": ("zahler", "zaehler", "zahlerstand", "stuckzahler", "compteur", "part count"),
    "reject_counter": ("ausschusszahler", "compteur rebut", "compteur rebuts"),
    "entered_by": ("bediener", "werker", "erfasst von", "operateur", "saisi par", "entered by"),
    "quantity": ("sollmenge", "auftragsmenge", "quantite", "quantite prevue", "planned quantity"),
}  # fmt: skip

#: Headers that say the file is an event log (cases and activities), not machine data.
EVENT_LOG_WORDS = {
    "case": ("case", "case id", "case_id", "fall", "vorgang", "dossier", "cas"),
    "activity": ("activity", "aktivitat", "taetigkeit", "tatigkeit", "activite", "etape", "step"),
}


def normalise(header: str) -> str:
    """``Stück-Zahl (ges.)`` → ``stuck zahl ges``: lower case, no accents, words split by one
    space (so that ``Start_Time``, ``start time`` and ``StartTime`` compare equal)."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", header.strip())
    text = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.findall(r"[a-z0-9]+", text))


def _words(column: str) -> set[str]:
    kind_free = {normalise(column)}
    for schema in SCHEMAS.values():
        for c in schema.columns:
            if c.name == column:
                kind_free |= {normalise(a) for a in c.aliases}
    return kind_free | {normalise(s) for s in SYNONYMS.get(column, ())}


_WORDS: dict[str, set[str]] = {c.name: _words(c.name) for s in SCHEMAS.values() for c in s.columns}


@dataclass(frozen=True)
class Suggestion:
    header: str
    column: str | None  # None: leave it out
    why: str  # "header", "values", "remembered" or "" (nothing fits)


@dataclass
class Sample:
    """A file's headers and the first rows' values (text), as the upload form sees them."""

    headers: list[str]
    rows: list[list[str | None]] = field(default_factory=list)
    _looks: dict[tuple[str, frozenset[str], frozenset[str]], str | None] = field(
        default_factory=dict, repr=False
    )

    def looks(self, header: str, machines: Set[str], reasons: Set[str]) -> str | None:
        """:func:`looks_like` of a column's values, worked out once per sample."""
        key = (header, frozenset(machines), frozenset(reasons))
        if key not in self._looks:
            self._looks[key] = looks_like(self.values(header), machines, reasons)
        return self._looks[key]

    def values(self, header: str, limit: int = 200) -> list[str]:
        i = self.headers.index(header)
        out = [r[i] for r in self.rows[:limit] if i < len(r) and r[i] not in (None, "")]
        return [str(v).strip() for v in out]


#: Values looked at to tell a column's type: enough to be sure, few enough to answer at once.
LOOK_AT = 50


def looks_like(values: list[str], machines: Set[str], reasons: Set[str]) -> str | None:
    """What a column's values look like: "timestamp", "count", "state", "machine", "reason"."""
    values = values[:LOOK_AT]
    if not values:
        return None
    low = [v.lower() for v in values]
    if machines and sum(v in machines for v in values) / len(values) >= 0.8:
        return "machine"
    if sum(v in STATE_WORDS for v in low) / len(low) >= 0.9 and not all(
        v in ("0", "1") for v in low
    ):
        return "state"
    if timestamp_layout(values) is not None or len(timestamp_layouts(values)) > 1:
        return "timestamp"
    count = re.compile(r"\d{1,3}([.']\d{3})*(,0*)?|\d+([.,]0*)?")
    if sum(1 for v in values if count.fullmatch(v)) / len(values) >= 0.9:
        return "count"
    if reasons and sum(v in reasons for v in low) / len(low) >= 0.6:
        return "reason"
    return None


_TYPE_FOR = {"timestamp": "timestamp", "count": "count", "state": "state"}


def suggest(
    sample: Sample,
    kind: str,
    *,
    machines: Set[str] = frozenset(),
    reasons: Set[str] = frozenset(),
    remembered: dict[str, str] | None = None,
) -> list[Suggestion]:
    """A column of a ``kind`` file for each header: what was remembered for this source first,
    then the header's words, then the values (a column of machine ids, of timestamps …)."""
    schema = SCHEMAS[kind]
    names = {c.name for c in schema.columns}
    taken: dict[str, str] = {}
    out: dict[str, Suggestion] = {}
    for header, column in (remembered or {}).items():
        if header in sample.headers and column == "":  # left out last time
            out[header] = Suggestion(header, None, "remembered")
        elif header in sample.headers and column in names and column not in taken:
            taken[column] = header
            out[header] = Suggestion(header, column, "remembered")
    for header in sample.headers:
        if header in out:
            continue
        key = normalise(header)
        fit = next((c.name for c in schema.columns if key in _WORDS[c.name]), None)
        if fit and fit not in taken:
            taken[fit] = header
            out[header] = Suggestion(header, fit, "header")
    for header in sample.headers:
        if header in out:
            continue
        look = sample.looks(header, machines, reasons)
        fit = None
        if look in ("machine", "reason") and look in names:
            fit = look
        elif look in _TYPE_FOR:
            fit = next(
                (
                    c.name
                    for c in schema.columns
                    if c.type == _TYPE_FOR[look] and c.required and c.name not in taken
                ),
                None,
            )
        if fit and fit not in taken:
            taken[fit] = header
            out[header] = Suggestion(header, fit, "values")
    return [out.get(h, Suggestion(h, None, "")) for h in sample.headers]


def detect_kind(sample: Sample, *, machines: Set[str] = frozenset()) -> str | None:
    """The kind whose required columns the suggestions cover best (all of them), preferring the
    one that places most of the file's columns; None when no kind fits."""
    best: tuple[int, int, str] | None = None
    for kind, schema in SCHEMAS.items():
        mapped = {s.column for s in suggest(sample, kind, machines=machines) if s.column}
        if not set(schema.required) <= mapped:
            continue
        score = (len(mapped), -len(schema.columns), kind)
        if best is None or score[:2] > best[:2]:
            best = score
    return best[2] if best else None


def looks_like_event_log(headers: list[str]) -> bool:
    keys = {normalise(h) for h in headers}
    return all(any(normalise(w) in keys for w in words) for words in EVENT_LOG_WORDS.values())


def timestamp_layout(values: list[str]) -> str | None:
    """The one layout every value reads with: ``"iso"`` for ISO 8601, else a strftime format
    from :data:`LAYOUTS`; None when none fits or two do (day and month either way round)."""
    if not values:
        return None
    try:
        for v in values:
            dt.datetime.fromisoformat(v.strip())
        return "iso"
    except ValueError:
        pass
    fits = timestamp_layouts(values)
    return fits[0] if len(fits) == 1 else None


def timestamp_layouts(values: list[str]) -> list[str]:
    """Every layout of :data:`LAYOUTS` that reads all ``values``."""
    fits = []
    for layout in LAYOUTS:
        try:
            for v in values:
                dt.datetime.strptime(v.strip(), layout)  # noqa: DTZ007 - only the layout
        except ValueError:
            continue
        fits.append(layout)
    return fits


def signature(headers: list[str]) -> str:
    """The same headers in any order and case give the same signature: how a source is known
    again when its file name changes."""
    text = "\n".join(sorted(normalise(h) for h in headers))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def file_pattern(name: str) -> str:
    """``Export_2026-05-03 (2).CSV`` → ``export_#-#-# (#).csv``: names of one source's files
    differ in their dates and numbers only."""
    return re.sub(r"\d+", "#", name.strip().lower())
