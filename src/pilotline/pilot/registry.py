"""Pre-registration and the decision log, kept in the data directory's store.

``start`` freezes every setting of a pilot that can change its estimate or verdict (hypothesis,
metrics, target, unit, windows, design, seasonality, model, review date and money; see
``spec.NOT_FROZEN`` for the few that are not). A later edit to those is refused unless it comes
with a reason, and then it is recorded as a new version, so every evaluation and A3 shows which
version it judged and whether the goalposts moved.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pilotline.errors import InputError
from pilotline.pilot.spec import Pilot
from pilotline.store import Store

Decision = Literal["adopt", "adapt", "abandon", "extend"]
DECISIONS = ("adopt", "adapt", "abandon", "extend")


def start(store: Store, pilot: Pilot, *, reason: str | None = None) -> dict[str, Any]:
    """Register the pilot (version 1), or record a changed version when a reason is given."""
    with store.session(write=True) as s, s.transaction():
        versions = s.pilot_versions(pilot.title)
        if versions and versions[-1]["fingerprint"] == pilot.fingerprint():
            return {"version": len(versions), "fingerprint": pilot.fingerprint(), "changed": False}
        if versions and not reason:
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
        s.record_pilot_version(
            title=pilot.title,
            fingerprint=pilot.fingerprint(),
            frozen=pilot.frozen_fields(),
            reason=reason,
        )
        return {
            "version": len(versions) + 1,
            "fingerprint": pilot.fingerprint(),
            "changed": bool(versions),
        }


def history(store: Store, pilot: Pilot) -> dict[str, Any]:
    """The recorded versions and whether the file in hand matches the latest."""
    with store.session() as s:
        versions = s.pilot_versions(pilot.title)
    current = pilot.fingerprint()
    latest = versions[-1]["fingerprint"] if versions else None
    return {
        "registered": bool(versions),
        "versions": [{k: v for k, v in r.items() if k != "frozen"} for r in versions],
        "matches_latest": latest == current,
        "partly_frozen": latest is not None and latest == pilot.legacy_fingerprint(),
    }


def decide(
    store: Store, pilot: Pilot, result: dict[str, Any], *, decision: str, reason: str
) -> None:
    if decision not in DECISIONS:
        raise InputError(f"decision must be one of {', '.join(DECISIONS)}; got {decision!r}")
    if not reason.strip():
        raise InputError("a decision needs a reason (what the board should know)")
    eff = result["effect"]
    with store.session(write=True) as s, s.transaction():
        s.record_decision(
            title=pilot.title,
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


def annotate(store: Store, pilot: Pilot, result: dict[str, Any]) -> dict[str, Any]:
    """Add the pre-registration check and the latest decision to an evaluation (in place): the
    CLI's ``pilot evaluate`` and the web app's pilot page say the same."""
    info = history(store, pilot)
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
    elif not info["matches_latest"]:
        result["warnings"].append(
            "A setting that changes the estimate (hypothesis, metrics, target, unit, windows, "
            "design, seasonality, model, review date or money) differs from the registered "
            "version: the goalposts moved without a recorded reason."
        )
    mine = [d for d in decision_log(store) if d["title"] == pilot.title]
    if mine:
        last = mine[-1]
        result["decision"] = (
            f"{last['decision'].capitalize()} ({last['decided_at']:%d %b %Y}): {last['reason']}"
        )
    return result


def changed_settings(store: Store, pilot: Pilot) -> list[str]:
    """The frozen settings (dotted, e.g. ``money.one_off``) that differ from the latest recorded
    version; empty when the pilot was never started or still matches."""
    with store.session() as s:
        versions = s.pilot_versions(pilot.title)
    if not versions:
        return []
    before = json.loads(versions[-1]["frozen"])
    now = json.loads(pilot.frozen_fields())
    return _differences(before, now, "")


def _differences(a: Any, b: Any, where: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b)):
            out += _differences(a.get(key), b.get(key), f"{where}.{key}" if where else key)
        return out
    return [] if a == b else [where]
