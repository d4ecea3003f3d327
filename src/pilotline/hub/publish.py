"""A benchmark release from what the hub holds: the firms' cells, their figures (withdrawn ones
are already erased), the coordinator's rules and the previous release's suppressions."""

from __future__ import annotations

from typing import Any

from pilotline import clock
from pilotline.errors import InputError
from pilotline.hub.benchmark import FIELDS, Figures, Firm, Release, build_release
from pilotline.hub.disclosure import Rules
from pilotline.hub.store import HubStore


def rules(hub: HubStore) -> Rules:
    try:
        n, k = hub.setting("nk").split(",")
        return Rules(
            min_firms=int(hub.setting("min_firms")),
            n=int(n),
            k=float(k),
            p=float(hub.setting("p")),
            protect_pct=float(hub.setting("protect_pct")),
        )
    except ValueError as exc:
        raise InputError(f"a disclosure setting of this hub cannot be read: {exc}") from None


def publish(hub: HubStore, *, workers: int = 1) -> Release:
    """Build, audit and keep the next release."""
    firms = {r["id"]: Firm(r["id"], r["sector"], r["size_band"], r["region"]) for r in hub.firms()}
    figures = [
        (r["firm_id"], Figures(**{k: r[k] for k in ("period", "plant", *FIELDS)}))
        for r in hub.rows("SELECT * FROM figures ORDER BY firm_id, period, plant")
    ]
    if not figures:
        raise InputError("no benchmark figures at this hub yet: nothing to release")
    last = hub.release()
    previous = _release(last) if last else None
    rel = build_release(
        firms=firms,
        figures=figures,
        rules=rules(hub),
        version=(last["version"] + 1) if last else 1,
        created_at=clock.now().isoformat(),
        previous=previous,
        workers=workers,
    )
    hub.add_release(_body(rel))
    return rel


def _body(rel: Release) -> dict[str, Any]:
    return {
        "version": rel.version,
        "created_at": rel.created_at,
        "inputs_sha256": rel.inputs_sha256,
        "rules": rel.rules,
        "firms": rel.firms,
        "cells": rel.cells,
        "contributors": rel.contributors,
    }


def _release(body: dict[str, Any]) -> Release:
    return Release(**body)


def public(hub: HubStore) -> dict[str, Any] | None:
    last = hub.release()
    return _release(last).public() if last else None
