"""Pre-registration and the decision log, kept in the data directory's store.

``start`` freezes every setting of a pilot that can change its estimate or verdict (hypothesis,
metrics, target, unit, windows, design, seasonality, model, review date and money; see
``spec.NOT_FROZEN`` for the few that are not). A later edit to those is refused unless it comes
with a reason, and then it is recorded as a new version, so every evaluation and A3 shows which
version it judged and whether the goalposts moved.
"""

from __future__ import annotations

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
