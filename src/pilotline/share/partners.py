"""Partners, their API keys and their grants, kept in the store.

A grant is stored as one IDTA-01004 access rule (:mod:`pilotline.share.rules`): the partner's
claim, READ, the objects (every submodel with a semantic id, one machine's, or elements down to
an idShort path) and a formula that ends at the expiry. Revoking marks the grant; the running
server reads grants again when ``<home>/share/grants.stamp`` changes, so a revocation takes effect
at the partner's next request.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pilotline import clock
from pilotline.errors import InputError, NotFound
from pilotline.plant.model import Plant
from pilotline.share import semantics as sem
from pilotline.share.model import Ids
from pilotline.share.rules import Rule, parse_rules
from pilotline.store import Store

KEY_PREFIX = "plk_"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}[A-Za-z0-9]$|^[A-Za-z0-9]$")
PATH = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(\[[0-9]+\])?(\.[A-Za-z][A-Za-z0-9_-]*(\[[0-9]+\])?)*$")
PURPOSE_MAX = 500


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Partner:
    name: str
    created_at: dt.datetime
    removed_at: dt.datetime | None


@dataclass(frozen=True)
class Grant:
    id: str
    partner: str
    rule: dict[str, Any]
    purpose: str
    expires: dt.date | None
    onward: bool
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def not_applied(self) -> str | None:
        """Why this grant gives nothing although it is active (a rule stored before a check
        that now refuses it), or None."""
        return not_applied(self.rule)

    @property
    def what(self) -> str:
        """The grant in words, from its rule."""
        f = json.dumps(self.rule.get("FORMULA", {}))
        names = {v: k for k, v in sem.SUBMODEL_NAMES.items()}
        kinds = [
            names.get(s, s) for s in re.findall(r'"\$sm#semanticId"\}, \{"\$strVal": "([^"]+)"', f)
        ]
        machine = re.findall(r":sm:machine:([^\"]+?):\"", f)
        product = re.findall(r":sm:product:([^\"]+?):\"", f)
        paths = [
            ".".join(re.sub(r"^\([A-Za-z]+\)", "", p.strip()) for p in t.split(",")[1:])
            for k, t in _objects(self.rule)
            if k == "REFERABLE"
        ]
        out = ", ".join(kinds) or "custom rule"
        if machine:
            out += f" of machine {machine[0]}"
        if product:
            out += f" of product {product[0]}"
        if paths:
            out += " (elements " + "; ".join(paths) + ")"
        return out


def _objects(rule: dict[str, Any]) -> list[tuple[str, str]]:
    return [next(iter(o.items())) for o in rule.get("OBJECTS", []) if isinstance(o, dict) and o]


def not_applied(rule: dict[str, Any]) -> str | None:
    """Why a rule is not applied (it gives nothing), or None when it is.

    A rule whose objects are a ``ROUTE`` other than ``"*"`` (such as ``"/submodels/*"``) gives
    each submodel at its own address but not in the lists, so neither ``share grant``'s note
    nor the preview could show what it gives: it is refused when granted (:meth:`Partners.add_rule`)
    and, stored before that check, not applied when read (the server, ``share grants`` and
    ``share preview`` say so)."""
    routes = [str(t) for k, t in _objects(rule) if k == "ROUTE" and str(t).strip() != "*"]
    if not routes:
        return None
    return (
        f"ROUTE {routes[0]!r} cannot be granted here: what it gives depends on the address the "
        "partner asks, so the preview could not show it; name the submodels with IDENTIFIABLE "
        "or REFERABLE objects (ROUTE '*' is taken)"
    )


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME.match(name):
        raise InputError(
            f"partner name {name!r}: use 1–64 letters, digits, spaces, dots, dashes or "
            "underscores, starting and ending with a letter or digit"
        )
    return name


def _submodel(text: str) -> str:
    if text in sem.SUBMODEL_NAMES:
        return sem.SUBMODEL_NAMES[text]
    if text in sem.SUBMODEL_NAMES.values():
        return text
    raise InputError(
        f"--submodel {text!r}: give a semantic id or one of {sorted(sem.SUBMODEL_NAMES)} "
        f"({', '.join(sem.SUBMODEL_NAMES.values())})"
    )


def grant_rule(
    *,
    partner: str,
    semantic_id: str,
    machine_prefix: str | None,
    paths: list[str],
    ends: dt.datetime | None,
) -> dict[str, Any]:
    """One access rule (IDTA-01004 JSON) for a grant."""
    objects: list[dict[str, str]] = (
        [
            {
                "REFERABLE": "(Submodel)*, "
                + ", ".join(f"(SubmodelElement){p}" for p in _split(path))
            }
            for path in paths
        ]
        if paths
        else [{"IDENTIFIABLE": "(Submodel)*"}]
    )
    terms: list[dict[str, Any]] = [
        _partner_term(partner),
        {"$eq": [{"$field": "$sm#semanticId"}, {"$strVal": semantic_id}]},
    ]
    if machine_prefix:
        terms.append({"$starts-with": [{"$field": "$sm#id"}, {"$strVal": machine_prefix}]})
    if ends is not None:
        terms.append(_ends_term(ends))
    return {
        "ACL": {"ATTRIBUTES": [{"CLAIM": "partner"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"},
        "OBJECTS": objects,
        "FORMULA": {"$and": terms},
    }


def _end_of(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """The end of ``day`` (the start of the next) in the time zone ``tz``."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz)


def _partner_term(partner: str) -> dict[str, Any]:
    return {"$eq": [{"$attribute": {"CLAIM": "partner"}}, {"$strVal": partner}]}


def _ends_term(ends: dt.datetime) -> dict[str, Any]:
    stamp = ends.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return {"$lt": [{"$attribute": {"GLOBAL": "UTCNOW"}}, {"$dateTimeVal": stamp}]}


def scoped(rule: dict[str, Any], partner: str, ends: dt.datetime | None) -> dict[str, Any]:
    """``rule`` that holds only for ``partner`` (and only before ``ends``): its ACL names the
    partner claim and its formula is and-ed with the terms it lacks."""
    formula = rule["FORMULA"]
    terms = list(formula["$and"]) if set(formula) == {"$and"} else [formula]
    wanted = [_partner_term(partner)] + ([_ends_term(ends)] if ends else [])
    terms = [t for t in wanted if t not in terms] + terms
    acl = dict(rule["ACL"])
    attrs = list(acl.get("ATTRIBUTES", []))
    if {"CLAIM": "partner"} not in attrs:
        attrs.append({"CLAIM": "partner"})
    acl["ATTRIBUTES"] = attrs
    return {**rule, "ACL": acl, "FORMULA": {"$and": terms} if len(terms) > 1 else terms[0]}


def _split(path: str) -> list[str]:
    """``A.b[2].c`` → ["A", "b", "2", "c"]: idShorts and list indexes, as the paths served."""
    return [p for p in re.split(r"[.\[\]]+", path) if p]


class Partners:
    """Partners and grants in one store; ``home`` holds the stamp the server watches."""

    def __init__(self, store: Store, home: Path) -> None:
        self.store, self.home = store, home
        self.stamp = home / "share" / "grants.stamp"
        self._stamp = str(self.stamp)
        self._fd: int | None = None  # the stamp, kept open by a server (version)

    def _touch(self) -> None:
        self.stamp.parent.mkdir(parents=True, exist_ok=True)
        self.stamp.write_text(secrets.token_hex(8))

    def version(self) -> str:
        """The stamp's text: it changes whenever a partner, key or grant does. (The server asks
        at every partner request: the file is kept open and read with one call, as
        :meth:`_touch` rewrites it in place; :meth:`reopen` when it may have been replaced.)"""
        fd = self._fd
        if fd is None:
            try:
                fd = self._fd = os.open(self._stamp, os.O_RDONLY)
            except OSError:
                return ""
        try:
            return os.pread(fd, 64, 0).decode("ascii", "replace")
        except OSError:
            self.reopen()
            return ""

    def reopen(self) -> None:
        """Open the stamp afresh at the next :meth:`version` (it may have been replaced, such
        as by a restore of the data directory)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- partners ------------------------------------------------------------------------------
    def add(self, name: str) -> str:
        """Add a partner; returns its API key (shown once, stored as a hash)."""
        name = check_name(name)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.store.session(write=True) as s, s.transaction():
            if s.scalar("SELECT count(*) FROM share_partners WHERE name = ?", [name]):
                raise InputError(
                    f"there is a partner called {name!r} already (removed partners keep their "
                    "name, so their record of reads stays theirs); choose another name"
                )
            s.execute(
                "INSERT INTO share_partners VALUES (?, ?, ?, ?, NULL)",
                [name, key_hash(key), json.dumps({"partner": name}), clock.utc_naive()],
            )
        self._touch()
        return key

    def new_key(self, name: str) -> str:
        """A new API key for a partner; the old one stops working at once."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.store.session(write=True) as s:
            self._active(s, name)
            s.execute(
                "UPDATE share_partners SET key_hash = ? WHERE name = ?", [key_hash(key), name]
            )
        self._touch()
        return key

    def _active(self, s: Any, name: str) -> None:
        if not s.scalar(
            "SELECT count(*) FROM share_partners WHERE name = ? AND removed_at IS NULL", [name]
        ):
            raise NotFound(f"no partner called {name!r}; 'pilotline share partner list' shows them")

    def remove(self, name: str) -> int:
        """Remove a partner: its key stops working and every grant is revoked. Returns how many
        grants were revoked."""
        now = clock.utc_naive()
        with self.store.session(write=True) as s, s.transaction():
            self._active(s, name)
            n = int(s.scalar(
                "SELECT count(*) FROM share_grants WHERE partner = ? AND revoked_at IS NULL", [name]
            ))  # fmt: skip
            s.execute(
                "UPDATE share_grants SET revoked_at = ? WHERE partner = ? AND revoked_at IS NULL",
                [now, name],
            )
            s.execute("UPDATE share_partners SET removed_at = ? WHERE name = ?", [now, name])
        self._touch()
        return n

    def all(self) -> list[Partner]:
        with self.store.session() as s:
            rows = s.arrow(
                "SELECT name, created_at, removed_at FROM share_partners ORDER BY name"
            ).to_pylist()
        return [Partner(r["name"], r["created_at"].replace(tzinfo=dt.UTC),
                        r["removed_at"].replace(tzinfo=dt.UTC) if r["removed_at"] else None)
                for r in rows]  # fmt: skip

    def by_key(self, key: str) -> str | None:
        """The partner holding this API key, or None."""
        if not key.startswith(KEY_PREFIX):
            return None
        with self.store.session() as s:
            name = s.scalar(
                "SELECT name FROM share_partners WHERE key_hash = ? AND removed_at IS NULL",
                [key_hash(key)],
            )
        return str(name) if name is not None else None

    def keys(self) -> dict[str, str]:
        """Key hash → partner, for every active partner (the server's cache)."""
        with self.store.session() as s:
            rows = s.arrow(
                "SELECT name, key_hash FROM share_partners WHERE removed_at IS NULL"
            ).to_pylist()
        return {r["key_hash"]: r["name"] for r in rows}

    # -- grants --------------------------------------------------------------------------------
    def rule_for(
        self,
        partner: str,
        *,
        plant: Plant,
        submodel: str,
        machine: str | None = None,
        product: str | None = None,
        paths: list[str] | None = None,
        expires: dt.date | None = None,
    ) -> dict[str, Any]:
        """The access rule a grant would store (checked, not stored)."""
        semantic_id = _submodel(submodel)
        prefix = None
        if machine is not None and semantic_id == sem.CARBON:
            raise InputError(
                "carbon footprints are per product, not per machine: give --product instead "
                "of --machine"
            )
        if product is not None:
            if semantic_id != sem.CARBON:
                raise InputError("--product goes with --submodel carbon-footprint only")
            products = {x.id for x in plant.products}
            if product not in products:
                raise NotFound(f"unknown product {product!r}; plant.toml has {sorted(products)}")
            prefix = Ids.of(plant).submodel("product", product, "")  # ends with ":"
        if machine is not None:
            known = {m.id for _, m in plant.machines}
            if machine not in known:
                raise NotFound(f"unknown machine {machine!r}; plant.toml has {sorted(known)}")
            prefix = Ids.of(plant).submodel("machine", machine, "")  # ends with ":"
        for p in paths or []:
            if not PATH.match(p):
                raise InputError(
                    f"--element {p!r} is not an idShort path such as PlannedBusyTime or "
                    "ProductCarbonFootprints[0].PcfCO2eq"
                )
        ends = None
        if expires is not None:
            today = clock.now().astimezone(plant.tz).date()
            if expires < today:
                raise InputError(f"--expires {expires} is in the past (today is {today})")
            if expires > today + dt.timedelta(days=3660):
                raise InputError(f"--expires {expires} is more than ten years away")
            ends = _end_of(expires, plant.tz)
        return grant_rule(partner=partner, semantic_id=semantic_id, machine_prefix=prefix,
                          paths=paths or [], ends=ends)  # fmt: skip

    def grant(
        self,
        partner: str,
        *,
        plant: Plant,
        submodel: str,
        machine: str | None = None,
        product: str | None = None,
        paths: list[str] | None = None,
        expires: dt.date | None = None,
        purpose: str = "",
        onward: bool = False,
        by: str,
    ) -> Grant:
        """Give a partner a submodel (all of them, one machine's or product's, or elements of
        it)."""
        rule = self.rule_for(partner, plant=plant, submodel=submodel, machine=machine,
                             product=product, paths=paths, expires=expires)  # fmt: skip
        return self.add_rule(partner, rule, expires=expires, tz=plant.tz, purpose=purpose,
                             onward=onward, by=by)  # fmt: skip

    def add_rule(
        self,
        partner: str,
        rule: dict[str, Any],
        *,
        expires: dt.date | None = None,
        tz: dt.tzinfo = dt.UTC,
        purpose: str = "",
        onward: bool = False,
        by: str,
    ) -> Grant:
        """Store one access rule for a partner (checked first: a malformed rule is refused).

        The rule is narrowed to the partner (its formula must also hold ``CLAIM("partner") $eq
        <partner>``) and, with ``expires``, to the end of that day in ``tz``: a rule written for
        one partner can never open anything to another, nor outlast its date."""
        parse_rules({"AllAccessPermissionRules": {"rules": [rule]}})
        why = not_applied(rule)
        if why is not None:  # "/submodels/*" opened each submodel by its address, not the list
            raise InputError(f"rules[0].OBJECTS: {why}")
        rule = scoped(rule, partner, _end_of(expires, tz) if expires else None)
        if len(purpose) > PURPOSE_MAX:
            raise InputError(f"the purpose is {len(purpose)} characters; at most {PURPOSE_MAX}")
        gid = "g-" + secrets.token_hex(4)
        now = clock.utc_naive()
        with self.store.session(write=True) as s, s.transaction():
            self._active(s, partner)
            s.execute(
                "INSERT INTO share_grants VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                [gid, partner, json.dumps(rule), purpose, expires, onward, by, now],
            )
        self._touch()
        return Grant(gid, partner, rule, purpose, expires, onward, by,
                     now.replace(tzinfo=dt.UTC), None)  # fmt: skip

    def revoke(self, partner: str, grant_id: str | None = None) -> int:
        """Revoke one grant, or every grant of the partner; returns how many."""
        where, params = "partner = ? AND revoked_at IS NULL", [partner]
        if grant_id:
            where += " AND id = ?"
            params.append(grant_id)
        with self.store.session(write=True) as s, s.transaction():
            n = int(s.scalar(f"SELECT count(*) FROM share_grants WHERE {where}", params))
            if grant_id and not n:
                raise NotFound(f"{partner!r} has no active grant {grant_id!r}")
            s.execute(f"UPDATE share_grants SET revoked_at = ? WHERE {where}",
                      [clock.utc_naive(), *params])  # fmt: skip
        self._touch()
        return n

    def grants(self, partner: str | None = None, *, active: bool = True) -> list[Grant]:
        sql, params = "SELECT * FROM share_grants WHERE 1 = 1", list[Any]()
        if partner is not None:
            sql += " AND partner = ?"
            params.append(partner)
        if active:
            sql += " AND revoked_at IS NULL"
        with self.store.session() as s:
            rows = s.arrow(sql + " ORDER BY created_at, id", params).to_pylist()
        return [
            Grant(
                r["id"], r["partner"], json.loads(r["rule"]), r["purpose"], r["expires"],
                bool(r["onward"]), r["created_by"], r["created_at"].replace(tzinfo=dt.UTC),
                r["revoked_at"].replace(tzinfo=dt.UTC) if r["revoked_at"] else None,
            )
            for r in rows
        ]  # fmt: skip

    def rules(self) -> tuple[list[Rule], list[str]]:
        """Every active grant that is applied (:func:`not_applied`) as one rule set, and the
        grant id of each rule (same order)."""
        grants = [g for g in self.grants() if g.not_applied is None]
        doc = {"AllAccessPermissionRules": {"rules": [g.rule for g in grants]}}
        return parse_rules(doc), [g.id for g in grants]
