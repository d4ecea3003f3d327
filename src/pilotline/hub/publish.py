"""A benchmark release from what the hub holds: the firms' cells, their figures (withdrawn ones
are already erased), the coordinator's rules and the previous release's suppressions."""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from typing import Any

from pilotline import clock
from pilotline.errors import InputError, StoreBusy
from pilotline.hub.benchmark import (
    FIELDS,
    MEASURES,
    Figures,
    Firm,
    Release,
    build_release,
    fingerprint,
)
from pilotline.hub.db import Connection
from pilotline.hub.disclosure import Rules
from pilotline.hub.privacy import Privacy
from pilotline.hub.store import HubStore

log = logging.getLogger(__name__)


def rules(hub: HubStore) -> Rules:
    for name in ("p", "protect_pct"):  # a hub set before the floor of 1 was checked
        if not _at_least_one(hub.setting(name)):
            raise InputError(
                f"hub setting {name} = {hub.setting(name)!r}: a release needs at least 1 (below, "
                f"the protection is switched off); set it with 'pilotline hub setting {name} 10'"
            )
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


def _at_least_one(value: str) -> bool:
    try:
        return float(value) >= 1
    except ValueError:
        return False


def privacy(hub: HubStore) -> Privacy | None:
    """The noise settings, or None when ``dp_epsilon`` is 0 (no noise)."""
    try:
        epsilon = float(hub.setting("dp_epsilon"))
        if epsilon == 0:
            return None
        hours, parts, kwh = (float(hub.setting(n)) for n in ("dp_hours", "dp_parts", "dp_kwh"))
    except ValueError as exc:
        raise InputError(f"a privacy setting of this hub cannot be read: {exc}") from None
    bound = {"s": hours * 3600, "count": parts, "kwh": kwh}
    return Privacy(
        epsilon=epsilon,
        bounds={m: bound[m.rsplit("_", 1)[1]] for m in MEASURES},
    )


def _noise_secret(hub: HubStore) -> bytes:
    """The hub's secret for drawing noise (made by the first release that needs it)."""
    with hub.connect() as con:
        con.execute("INSERT INTO secrets (name, value) VALUES ('noise', ?) "
                    "ON CONFLICT (name) DO NOTHING", (secrets.token_hex(32),))  # fmt: skip
        return bytes.fromhex(str(con.execute(
            "SELECT value FROM secrets WHERE name = 'noise'").scalar()))  # fmt: skip


def _inputs(con: Connection) -> tuple[dict[str, Firm], list[tuple[str, Figures]]]:
    firms = {
        r["id"]: Firm(r["id"], r["sector"], r["size_band"], r["region"])
        for r in con.execute("SELECT id, sector, size_band, region FROM firms ORDER BY id")
    }
    figures = [
        (r["firm_id"], Figures(**{k: r[k] for k in ("period", "plant", *FIELDS)}))
        for r in con.execute("SELECT * FROM figures ORDER BY firm_id, period, plant")
    ]
    return firms, figures


def publish(hub: HubStore, *, workers: int = 1, attempts: int = 3) -> Release:
    """Build, audit and keep the next release.

    The release is built outside any transaction (it takes seconds) from one consistent read
    of the firms, figures and last release; it is kept only if, under the release lock, the
    last release and the inputs are still those it was built from. Otherwise (another process
    kept a release, or a firm sent, withdrew or was erased meanwhile) it is built again."""
    noise = privacy(hub)
    for _ in range(attempts):
        with hub.reading() as con:
            firms, figures = _inputs(con)
            last_row = con.execute(
                "SELECT body FROM releases ORDER BY version DESC LIMIT 1"
            ).fetchone()
        if not figures:
            raise InputError("no benchmark figures at this hub yet: nothing to release")
        last = json.loads(last_row["body"]) if last_row else None
        rel = build_release(
            firms=firms,
            figures=figures,
            rules=rules(hub),
            version=(last["version"] + 1) if last else 1,
            created_at=clock.now().isoformat(),
            previous=_release(last) if last else None,
            workers=workers,
            privacy=noise,
            secret=_noise_secret(hub) if noise is not None else b"",
        )
        with hub.connect() as con:
            con.lock("release")
            newest = con.execute("SELECT max(version) AS v FROM releases").scalar()
            if newest == (last["version"] if last else None) and rel.inputs_sha256 == fingerprint(
                *_inputs(con)
            ):
                con.execute(
                    "INSERT INTO releases (version, created_at, inputs_sha256, body) "
                    "VALUES (?, ?, ?, ?)",
                    (rel.version, rel.created_at, rel.inputs_sha256, body_json(rel)),
                )
                return rel
        log.info("release %d: its inputs changed while it was built; building it again",
                 rel.version)  # fmt: skip
    raise StoreBusy(
        f"the hub's figures or releases changed {attempts} times while the release was being "
        "built (other hub processes at work): nothing was kept; run it again"
    )


def _body(rel: Release) -> dict[str, Any]:
    return {
        "version": rel.version,
        "created_at": rel.created_at,
        "inputs_sha256": rel.inputs_sha256,
        "rules": rel.rules,
        "firms": rel.firms,
        "cells": rel.cells,
        "contributors": rel.contributors,
        "privacy": rel.privacy,
    }


def body_json(rel: Release) -> str:
    """The release as kept: strict JSON, never holding Infinity or NaN."""
    try:
        return json.dumps(_body(rel), allow_nan=False)
    except ValueError:
        raise InputError(
            f"release {rel.version} holds a figure that is not a finite number (infinite or not "
            "a number): nothing was kept; check the noise settings (dp_epsilon and the bounds)"
        ) from None


#: The fields a :class:`Release` is built from (a body kept by a newer version may hold more).
_FIELDS = frozenset(f.name for f in dataclasses.fields(Release))


def _release(body: dict[str, Any]) -> Release:
    return Release(**{k: v for k, v in body.items() if k in _FIELDS})


def public(hub: HubStore) -> dict[str, Any] | None:
    last = hub.release()
    return _release(last).public() if last else None
