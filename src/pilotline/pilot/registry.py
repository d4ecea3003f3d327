"""Pre-registration and the decision log, kept in the data directory's store.

``start`` freezes every setting of a pilot that can change its estimate or verdict (hypothesis,
metrics, target, unit, windows, design, seasonality, model, review date and money; see
``spec.NOT_FROZEN`` for the few that are not), compared as the values in effect, and the
baseline data (see :mod:`pilotline.pilot.baseline`). A later edit to either is refused unless it
comes with a reason, and then it is recorded as a new version, so every evaluation and A3 shows
which version it judged and whether the goalposts moved.

Versions and decisions are kept under the pilot's ``id``, by default the title it was started
with. A pilot file without an ``id`` whose title has changed is found by its frozen settings:
the one registered pilot whose latest version they match.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pilotline.errors import InputError
from pilotline.pilot import baseline
from pilotline.pilot.evaluate import Sources
from pilotline.pilot.spec import Pilot, settings_in_effect
from pilotline.store import Store
from pilotline.store.session import Session

Decision = Literal["adopt", "adapt", "abandon", "extend"]
DECISIONS = ("adopt", "adapt", "abandon", "extend")


def start(
    store: Store, pilot: Pilot, *, reason: str | None = None, sources: Sources | None = None
) -> dict[str, Any]:
    """Register the pilot (version 1) with its baseline data, or record a changed version when a
    reason is given. ``sources`` reads the baseline (by default the store, and files: a KPI
    metric needs the plant's ``Sources``); the result's ``baseline`` says what was frozen."""
    sources = sources or Sources(store)
    kept = baseline.freeze(pilot, sources)
    with store.session() as s:
        name, versions, note = _lookup(s, pilot)
    settled = bool(versions) and _matches(versions[-1], pilot)
    old = _kept(versions[-1]) if versions else None
    changed = _changed_data(versions[-1], pilot, sources) if versions else {}
    if settled:
        if changed and not reason:
            raise InputError(
                " ".join(
                    baseline.warning(
                        changed,
                        then="give --reason to record the corrected data as a new version (it "
                        "will show on the A3), or undo the edit.",
                    )
                )
            )
        if not changed and not (reason and _more(old, kept)):
            return _started(
                len(versions),
                versions[-1]["fingerprint"],
                pilot,
                changed=False,
                kept=old,
                name=name,
                note=note,
            )
    elif versions and not reason:
        if versions[-1]["fingerprint"] == pilot.legacy_fingerprint():
            raise InputError(
                f"'{pilot.title}' was started by an earlier Pilotline, which froze only its "
                "hypothesis, metrics, target and design; its windows, unit, seasonality, "
                "model, review date and money were never frozen. Give --reason to freeze "
                "them now as a new version."
            )
        raise InputError(
            f"'{pilot.title}' was started with version {versions[-1]['fingerprint']}; a "
            "setting that changes its estimate (hypothesis, metrics, target, unit, windows, "
            "design, seasonality, model, review date or money) has changed since. Give "
            "--reason to record the change as a new version (it will show on the A3), or "
            "undo the edit."
        )
    frozen = json.loads(pilot.frozen_fields()) | {"_baseline": kept}
    with store.session(write=True) as s, s.transaction():
        if len(s.pilot_versions(name)) != len(versions):
            raise InputError(f"'{name}' was started by someone else meanwhile: run it again")
        s.record_pilot_version(
            title=name,
            fingerprint=pilot.fingerprint(),
            frozen=json.dumps(frozen, sort_keys=True),
            reason=reason,
        )
    info = _started(
        len(versions) + 1,
        pilot.fingerprint(),
        pilot,
        changed=bool(versions),
        kept=kept,
        name=name,
        note=note,
    )
    if changed:  # said at the start, as the new version keeps the changed data
        said = baseline.warning(changed, then="this version freezes the data as it is now.")
        info["baseline"] = " ".join([*said, info["baseline"]])
    return info


def _started(
    version: int,
    fingerprint: str,
    pilot: Pilot,
    *,
    changed: bool,
    kept: dict[str, Any] | None,
    name: str,
    note: str | None,
) -> dict[str, Any]:
    return {
        "version": version,
        "fingerprint": fingerprint,
        "changed": changed,
        "id": name,
        "note": note,
        "baseline": _frozen_text(kept, pilot),
    }


def _more(old: dict[str, Any] | None, kept: dict[str, Any]) -> bool:
    """Whether ``kept`` freezes baseline data that ``old`` did not (none, or fewer dates)."""
    if "lines" not in kept:
        return False
    return old is None or "lines" not in old or kept["through"] > old["through"]


def _frozen_text(kept: dict[str, Any] | None, pilot: Pilot) -> str:
    """What was frozen of the baseline data, in a sentence."""
    if kept is None:
        return (
            "The baseline data was not frozen (started by an earlier Pilotline); "
            "'pilotline pilot start --reason …' freezes it now."
        )
    if "error" in kept:
        return f"The baseline data could not be frozen: {kept['error']}"
    dates = kept["lines"].get("metric", {}).get("dates", {})
    text = (
        f"Baseline data frozen: {len(dates)} date(s) from {kept['start']} to before "
        f"{kept['through']}"
    )
    also = ["the control line's"] if "control" in kept["lines"] else []
    guards = sum(1 for line in kept["lines"] if line.startswith("guardrail "))
    also += [f"{guards} guardrail(s)'"] if guards else []
    if also:
        text += f", with {' and '.join(also)}"
    if kept["through"] < pilot.baseline.end.isoformat():
        text += (
            f"; the baseline runs on to {pilot.baseline.end}, and those later dates are not frozen"
        )
    return text + "."


def history(store: Store, pilot: Pilot) -> dict[str, Any]:
    """The recorded versions and whether the file in hand matches the latest; ``id`` is the name
    the versions and decisions are kept under, ``note`` says how they were found when that is
    not the file's own ``id`` or title."""
    with store.session() as s:
        name, versions, note = _lookup(s, pilot)
    return _history(name, versions, note, pilot)


def _history(
    name: str, versions: list[dict[str, Any]], note: str | None, pilot: Pilot
) -> dict[str, Any]:
    latest = versions[-1] if versions else None
    return {
        "registered": bool(versions),
        "id": name,
        "note": note,
        "versions": [{k: v for k, v in r.items() if k != "frozen"} for r in versions],
        "matches_latest": latest is not None and _matches(latest, pilot),
        "partly_frozen": latest is not None and latest["fingerprint"] == pilot.legacy_fingerprint(),
    }


def decide(
    store: Store, pilot: Pilot, result: dict[str, Any], *, decision: str, reason: str
) -> None:
    if decision not in DECISIONS:
        raise InputError(f"decision must be one of {', '.join(DECISIONS)}; got {decision!r}")
    if not reason.strip():
        raise InputError("a decision needs a reason (what the board should know)")
    eff = result["effect"]
    with store.session() as s:
        name = _lookup(s, pilot)[0]
    with store.session(write=True) as s, s.transaction():
        s.record_decision(
            title=name,
            fingerprint=pilot.fingerprint(),
            decision=decision,
            reason=reason.strip(),
            verdict=result["verdict"],
            effect=eff["value"],
            low=eff["low"],
            high=eff["high"],
        )


def decision_log(store: Store) -> list[dict[str, Any]]:
    with store.session() as s:
        return s.decisions()


def annotate(
    store: Store, pilot: Pilot, result: dict[str, Any], *, sources: Sources | None = None
) -> dict[str, Any]:
    """Add the pre-registration check, the frozen baseline's check and the latest decision to
    an evaluation (in place): the CLI's ``pilot evaluate`` and the web app's pilot page say the
    same. ``sources`` reads the baseline data again (by default the store, and files: a KPI
    metric needs the plant's ``Sources``)."""
    with store.session() as s:
        name, versions, note = _lookup(s, pilot)
    info = _history(name, versions, note, pilot)
    result["registration"] = info
    if not info["registered"]:
        result["warnings"].append(
            "This pilot was never started with 'pilotline pilot start': nothing was "
            "frozen before the results could be seen."
        )
    elif info["partly_frozen"]:
        result["warnings"].append(
            "This pilot was started by an earlier Pilotline, which froze only its hypothesis, "
            "metrics, target and design: its windows, unit, seasonality, model, review date and "
            "money could have changed unseen. 'pilotline pilot start --reason …' freezes them."
        )
    else:
        if not info["matches_latest"]:
            result["warnings"].append(
                "A setting that changes the estimate (hypothesis, metrics, target, unit, "
                "windows, design, seasonality, model, review date or money) differs from the "
                "registered version: the goalposts moved without a recorded reason."
            )
        result["warnings"] += _data_warnings(versions[-1], pilot, sources or Sources(store))
    mine = [d for d in decision_log(store) if d["title"] == name]
    if mine:
        last = mine[-1]
        result["decision"] = (
            f"{last['decision'].capitalize()} ({last['decided_at']:%d %b %Y}): {last['reason']}"
        )
    return result


def _data_warnings(version: dict[str, Any], pilot: Pilot, sources: Sources) -> list[str]:
    """What the evaluation should say about the baseline data kept with ``version``."""
    kept = _kept(version)
    if kept is None:
        return [
            "The baseline data was not frozen when this pilot was started (by an earlier "
            "Pilotline): a later edit to it would not show. 'pilotline pilot start --reason …' "
            "freezes it now as a new version."
        ]
    if "error" in kept:
        return [
            f"The baseline data could not be frozen when this pilot was started "
            f"({kept['error']}): a later edit to it would not show."
        ]
    if not _same_data(version, pilot):
        return []  # other data altogether: the goalposts warning says so
    try:
        return baseline.warning(baseline.changes(kept, pilot, sources))
    except InputError as exc:
        return [f"The frozen baseline data could not be checked: {exc}"]


def changed_settings(store: Store, pilot: Pilot) -> list[str]:
    """The frozen settings (dotted, e.g. ``money.one_off``) that differ from the latest recorded
    version, compared as the values in effect; empty when the pilot was never started or still
    matches."""
    with store.session() as s:
        _name, versions, _note = _lookup(s, pilot)
    if not versions or _matches(versions[-1], pilot):
        return []
    before = settings_in_effect(versions[-1]["frozen"])
    if before is None:
        before = {k: v for k, v in json.loads(versions[-1]["frozen"]).items() if k[:1] != "_"}
    return _differences(before, json.loads(pilot.frozen_fields()), "")


def _lookup(s: Session, pilot: Pilot) -> tuple[str, list[dict[str, Any]], str | None]:
    """The name a pilot is registered under, its versions (oldest first) and, when it was not
    found under its own id or title, a note saying how it was found (or why not)."""
    for name in dict.fromkeys(filter(None, (pilot.id, pilot.title))):
        versions = s.pilot_versions(name)
        if versions:
            note = None
            if pilot.id and name != pilot.id:
                note = (
                    f"Registered under its title {name!r}, not under its id {pilot.id!r}: set "
                    f"id = {name!r} in the pilot file, or its title cannot change."
                )
            return name, versions, note
    if pilot.id:
        return pilot.id, [], None
    rows = s.arrow(
        "SELECT title, fingerprint, frozen, reason, recorded_at FROM pilot_versions "
        "ORDER BY recorded_at"
    ).to_pylist()
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        latest[row["title"]] = row
    found = sorted(name for name, row in latest.items() if _matches(row, pilot))
    if len(found) == 1:
        (name,) = found
        versions = s.pilot_versions(name)
        note = (
            f"Registered as {name!r} (its title then). Add id = {name!r} to the pilot file: "
            "it is found by its frozen settings now, and would not be after a change to them."
        )
        return name, versions, note
    if found:
        names = ", ".join(repr(n) for n in found[:-1]) + f" and {found[-1]!r}"
        note = f"Its frozen settings match the pilots registered as {names}: set id to say which."
        return pilot.title, [], note
    return pilot.title, [], None


def _matches(version: dict[str, Any], pilot: Pilot) -> bool:
    """Whether ``pilot``'s frozen settings are those of the recorded ``version``, as the values
    in effect (a version recorded by an earlier Pilotline is read with today's defaults)."""
    if version["fingerprint"] == pilot.fingerprint():
        return True
    now: dict[str, Any] = json.loads(pilot.frozen_fields())
    return settings_in_effect(version["frozen"]) == now


def _kept(version: dict[str, Any]) -> dict[str, Any] | None:
    """The baseline data kept with a version; ``None`` for one recorded before it was kept."""
    try:
        frozen = json.loads(version["frozen"])
    except ValueError:
        return None
    kept = frozen.get("_baseline") if isinstance(frozen, dict) else None
    return kept if isinstance(kept, dict) else None


def _same_data(version: dict[str, Any], pilot: Pilot) -> bool:
    """Whether ``pilot`` reads the data ``version`` kept: the same metrics and unit."""
    registered = settings_in_effect(version["frozen"]) or {}
    now = json.loads(pilot.frozen_fields())
    lines = ("metric", "control", "guardrails", "unit")
    return all(registered.get(k) == now.get(k) for k in lines)


def _changed_data(version: dict[str, Any], pilot: Pilot, sources: Sources) -> dict[str, list[str]]:
    old = _kept(version)
    if old is None or "lines" not in old or not _same_data(version, pilot):
        return {}
    try:
        return baseline.changes(old, pilot, sources)
    except InputError:
        return {}  # unreadable now: the evaluation will say so


def _differences(a: Any, b: Any, where: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b)):
            out += _differences(a.get(key), b.get(key), f"{where}.{key}" if where else key)
        return out
    return [] if a == b else [where]
