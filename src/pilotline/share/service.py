"""The sharing server's state: the catalogue (rebuilt at most every ``refresh_s``), the partners'
keys and rules (read again whenever a grant changes), a rate limit per partner and the record of
reads. The web layer (``pilotline.web.share``) turns requests into calls on :class:`Service`.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pilotline import clock
from pilotline.errors import InputError, NotFound
from pilotline.plant.model import Plant
from pilotline.share.files import imported, imported_dir
from pilotline.share.model import build_catalogue
from pilotline.share.partners import Partners, key_hash
from pilotline.share.readlog import Read, ReadLog
from pilotline.share.repository import Repository, with_onward
from pilotline.share.rules import Rule, Subject, Target, decide, parse_rules
from pilotline.share.settings import ShareSettings, load_share_settings
from pilotline.share.tokens import Tokens
from pilotline.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Access:
    """A partner's rules as of its request."""

    partner: str
    rules: list[Rule]
    grant_ids: list[str]
    subject: Subject
    #: Grant id → whether it allows onward sharing.
    onward: Mapping[str, bool] = field(default_factory=dict)

    def grants_of(self, rules: list[Rule]) -> list[str]:
        return [self.grant_ids[r.index] for r in rules]

    def onward_of(self, grants: list[str]) -> bool:
        """Whether what these grants gave may be passed on: only when every one of them says
        so (a grant that forbids it is never widened by another that allows it)."""
        return bool(grants) and all(self.onward.get(g, False) for g in grants)


#: What a partner's read of its own record (``/aas/reads``) counts as against its rate: it writes
#: what is queued first, which costs a store write (tens to hundreds of milliseconds).
READS_COST = 10.0

#: Keys and grants are read again at least this often, whatever the stamp says.
GRANTS_RECHECK_S = 5.0


class _Bucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, float(burst), time.monotonic()

    def take(self, cost: float = 1.0) -> float:
        """0 when a request costing ``cost`` requests may go ahead, else seconds to wait."""
        cost = min(cost, self.burst)
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate


#: How often :func:`_settle_heap` also looks again at what it froze before (a full collection).
FULL_COLLECT_EVERY_S = 600.0
_full_at = -FULL_COLLECT_EVERY_S


def _settle_heap() -> None:
    """Keep what lives long (the catalogue just built, the app, its modules) out of Python's
    cyclic garbage collector from now on (``gc.freeze``), after collecting what the build left.

    Measured while ``bench/bench_share.py`` ran (the collector's callbacks, load average 5):
    without it the collector walked the whole heap every few seconds while partners read,
    holding every request for 30-100 ms each time (the p95 of a read); frozen, such a walk
    takes 2-12 ms. Objects frozen here are still freed when nothing refers to them; only
    reference cycles among them wait (the repository keeps no basyx objects, which hold
    cycles). So every :data:`FULL_COLLECT_EVERY_S` the freeze is undone and the whole heap
    collected before freezing again (about 0.3 s for the served app's 200,000 objects under
    load, once in ten minutes at most); at the other rebuilds (at most every ``refresh_s``)
    only what is not frozen is collected, which is quick."""
    global _full_at
    now = time.monotonic()
    if now - _full_at >= FULL_COLLECT_EVERY_S:
        gc.unfreeze()
        _full_at = now
    gc.collect()
    gc.freeze()


class Service:
    def __init__(self, home: Path, store: Store, plant: Callable[[], Plant]) -> None:
        self.home, self.store, self._plant = home, store, plant
        self.partners = Partners(store, home)
        self.log = ReadLog(store, home)
        self.tokens = Tokens(home)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._building = False
        self._repo: Repository | None = None
        self._repo_at = 0.0
        self._repo_key: tuple[float, ...] = ()
        self._version: str | None = None
        self._grants_at = 0.0
        self._keys: dict[str, str] = {}
        self._rules: list[Rule] = []
        self._by_partner: dict[str, list[Rule]] = {}
        self._grant_ids: list[str] = []
        self._onward: dict[str, bool] = {}
        self._not_applied: set[str] = set()  # grants stored with a rule no longer applied
        self._buckets: dict[str, _Bucket] = {}
        self._settings: ShareSettings | None = None
        self._tz: dt.tzinfo = dt.UTC
        self._watched = [str(home / "plant.toml"), str(home / "share.toml"),
                         str(imported_dir(home))]  # fmt: skip

    def _mtimes(self) -> tuple[float, ...]:
        out = []
        for p in self._watched:
            try:
                out.append(os.stat(p).st_mtime)
            except OSError:
                out.append(0.0)
        return tuple(out)

    def settings(self) -> ShareSettings:
        self.repository()
        assert self._settings is not None
        return self._settings

    def repository(self) -> Repository:
        """The catalogue as API JSON, rebuilt when older than ``refresh_s`` or the plant model,
        share.toml or the imported files changed. While one request rebuilds it, the others are
        served the previous one (only the very first build is waited for)."""
        with self._cond:
            while True:
                key = self._mtimes()
                repo, settings = self._repo, self._settings
                if (
                    repo is not None
                    and settings is not None
                    and key == self._repo_key
                    and time.monotonic() - self._repo_at < settings.api.refresh_s
                ):
                    return repo
                if not self._building:
                    self._building = True
                    break
                if repo is not None:
                    return repo
                self._cond.wait()
        try:
            plant = self._plant()
            settings = load_share_settings(self.home, plant)
            repo = Repository(
                build_catalogue(self.store, plant, settings, imported=imported(self.home))
            )
            with self._cond:
                self._repo, self._settings, self._tz = repo, settings, plant.tz
                self._repo_key, self._repo_at = key, time.monotonic()
            _settle_heap()
            return repo
        finally:
            with self._cond:
                self._building = False
                self._cond.notify_all()

    def _refresh_grants(self) -> None:
        """Read keys and grants again when the stamp changed (a change from this data
        directory), and at least every :data:`GRANTS_RECHECK_S` (a change made by a server or CLI
        elsewhere on the same PostgreSQL database)."""
        now = time.monotonic()
        stale = now - self._grants_at > GRANTS_RECHECK_S
        if stale:
            self.partners.reopen()  # the stamp may have been replaced rather than rewritten
        version = self.partners.version()
        if version != self._version or self._version is None or stale:
            keys = self.partners.keys()
            grants = []
            for g in self.partners.grants():
                why = g.not_applied
                if why is None:
                    grants.append(g)
                elif g.id not in self._not_applied:  # said once per server, in the firm's log
                    self._not_applied.add(g.id)
                    log.warning("share: grant %s of %s is not applied, it gives nothing: %s. "
                                "Revoke it ('pilotline share revoke %s --grant %s') and grant "
                                "what it meant again", g.id, g.partner, why, g.partner, g.id)  # fmt: skip
            rules = parse_rules({"AllAccessPermissionRules": {"rules": [g.rule for g in grants]}})
            ids, onward = [g.id for g in grants], {g.id: g.onward for g in grants}
            # every stored rule holds only for its own partner (partners.scoped), so a request
            # is checked against its partner's rules alone, not every partner's
            by_partner: dict[str, list[Rule]] = {}
            for g, r in zip(grants, rules, strict=True):
                by_partner.setdefault(g.partner, []).append(r)
            with self._lock:
                self._keys, self._rules, self._grant_ids = keys, rules, ids
                self._by_partner = by_partner
                self._onward = onward
                self._version, self._grants_at = version, now

    def access(self, key: str) -> Access | None:
        """The partner holding ``key`` and its rules now, or None for an unknown key."""
        self._refresh_grants()
        partner = self._keys.get(key_hash(key))
        if partner is None:
            held = self.tokens.read(key)
            if held is None or not any(
                name == held[0] and h.startswith(held[1]) for h, name in self._keys.items()
            ):
                return None
            partner = held[0]
        self.repository()  # the plant's time zone, as of the catalogue
        subject = Subject({"partner": partner}, clock.now(), self._tz)
        rules = self._by_partner.get(partner, [])
        return Access(partner, rules, self._grant_ids, subject, self._onward)

    def token(self, client_id: str, client_secret: str) -> str | None:
        """An access token for a partner's client credentials (its name and API key), or None
        when they do not match."""
        self._refresh_grants()
        hashed = key_hash(client_secret)
        if self._keys.get(hashed) != client_id:
            return None
        return self.tokens.issue(client_id, hashed)

    def refuse_held(self, partner: str, rule: dict[str, Any]) -> None:
        """Refuse a grant that would pass on what a partner gave us without onward sharing
        (a submodel imported or pulled with ``OnwardSharing`` false): a derived grant."""
        repo = self.repository()
        if not repo.held:
            return
        added = parse_rules({"AllAccessPermissionRules": {"rules": [rule]}})
        subject = Subject({"partner": partner}, clock.now(), self._tz)
        hit = [
            sid for sid in sorted(repo.held)
            if decide(added, subject, "READ",
                      Target(route="/submodels", kind="Submodel", id=sid, fields=repo.fields(sid)))
        ]  # fmt: skip
        if hit:
            shown = ", ".join(hit[:3]) + (f" and {len(hit) - 3} more" if len(hit) > 3 else "")
            raise InputError(
                f"this grant would give {partner!r} {shown}: received from a partner who does not "
                "allow onward sharing (its OnwardSharing extension, an element's or that of the "
                "only shell it sits on is false), so it is never passed on. Narrow the grant "
                "(--machine, --product or a rule of your own) so it leaves it out"
            )

    def preview(self, partner: str, *, extra: dict[str, Any] | None = None,
                extra_onward: bool = False) -> dict[str, Any]:  # fmt: skip
        """Exactly what ``partner`` receives now (with the access rule ``extra`` added, when
        given: what it would receive once that grant is made, onward sharing as
        ``extra_onward``): the shells and submodels, cut to its grants and marked with whether
        it may pass them on, that ``/aas/shells`` and ``/aas/submodels`` give it, and the grants
        used (``new`` for ``extra``)."""
        self._refresh_grants()
        if partner not in self._keys.values():
            raise NotFound(
                f"no partner called {partner!r}; 'pilotline share partner list' shows them"
            )
        plant = self._plant()
        rules, grant_ids = self._by_partner.get(partner, []), self._grant_ids
        if extra is not None:
            added = parse_rules({"AllAccessPermissionRules": {"rules": [extra]}})[0]
            rules = [*rules, replace(added, index=len(grant_ids))]
            grant_ids = [*grant_ids, "new"]
        access = Access(partner, rules, grant_ids,
                        Subject({"partner": partner}, clock.now(), plant.tz),
                        {**self._onward, "new": extra_onward})  # fmt: skip
        repo = self.repository()
        allowed = {
            sid: a for sid in repo.submodels
            if (a := repo.allowed(access.rules, access.subject, sid, "/submodels")) is not None
        }  # fmt: skip
        shells = [
            repo.shell(aid, {s for s in repo.refs[aid] if s in allowed})
            for aid in repo.shells
            if any(s in allowed for s in repo.refs[aid])
        ]
        grants = sorted({g for a in allowed.values() for g in access.grants_of(a.rules)})
        return {
            "partner": partner,
            "grants": grants,
            # active grants that give nothing, and why (a rule stored before a check refused it)
            "notApplied": [
                {"grant": g.id, "why": why}
                for g in self.partners.grants(partner)
                if (why := g.not_applied) is not None
            ],
            "assetAdministrationShells": shells,
            "submodels": [
                with_onward(repo.submodel(sid, a), access.onward_of(access.grants_of(a.rules)))
                for sid, a in allowed.items()
            ],
        }

    def throttle(self, partner: str, cost: float = 1.0) -> float:
        """0 when ``partner`` may make a request counting as ``cost`` requests now, else the
        seconds to wait."""
        settings = self._settings  # as of this request's access(), which checked the catalogue
        api = (settings if settings is not None else self.settings()).api
        with self._lock:
            bucket = self._buckets.get(partner)
            if bucket is None or bucket.rate != api.rate_per_s or bucket.burst != api.burst:
                bucket = self._buckets[partner] = _Bucket(api.rate_per_s, api.burst)
            return bucket.take(cost)

    def record(self, access: Access, route: str, grants: list[str], returned: list[str],
               status: int) -> None:  # fmt: skip
        self.log.append(Read(clock.now(), access.partner, route, grants, returned, status))
