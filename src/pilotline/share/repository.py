"""What a partner sees: the catalogue cut to its grants, as the AAS API's JSON.

Every shell and submodel is serialised once per catalogue (basyx's JSON encoder); a request cuts
the submodels to the partner's grants (whole, or down to idShort paths) and shows a shell only
when it holds something granted — a partner never learns that anything else exists.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from basyx.aas.adapter.json import AASToJsonEncoder

from pilotline.share import semantics as sem
from pilotline.share.model import Catalogue
from pilotline.share.rules import (
    Rule,
    Subject,
    Target,
    decide,
    element_paths,
    fragment_path,
    keeps,
)

#: ValueOnly numbers: the XSD types written as JSON numbers.
_NUMBERS = {
    "xs:decimal", "xs:integer", "xs:long", "xs:int", "xs:short", "xs:byte", "xs:double",
    "xs:float", "xs:unsignedLong", "xs:unsignedInt", "xs:unsignedShort", "xs:unsignedByte",
    "xs:nonNegativeInteger", "xs:positiveInteger", "xs:nonPositiveInteger", "xs:negativeInteger",
}  # fmt: skip
MAX_LIMIT = 1000
_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(\[[0-9]+\])*(\.[A-Za-z][A-Za-z0-9_-]*(\[[0-9]+\])*)*$")


class ApiError(Exception):
    """An error for the API's Result shape: status, a code and a message for people."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


def decode_id(text: str, what: str) -> str:
    """An identifier from the URL (base64url, padding optional), or a 400 naming it."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if not text or not re.fullmatch(r"[A-Za-z0-9_-]+=*", text):
            raise ValueError
        return raw.decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(
            400, f"{what} {text[:80]!r} is not a base64url-encoded identifier (RFC 4648 §5)"
        ) from None


def encode_id(ident: str) -> str:
    return base64.urlsafe_b64encode(ident.encode()).decode().rstrip("=")


def split_path(path: str) -> list[str]:
    """``A.b[2].c`` → ["A", "b", "2", "c"]; a malformed idShort path is a 400."""
    if len(path) > 2000 or not _PATH.match(path):
        raise ApiError(400, f"{path[:80]!r} is not an idShort path such as Metadata.Name or "
                            "ProductCarbonFootprints[0].PcfCO2eq")  # fmt: skip
    return [p for p in re.split(r"[.\[\]]+", path) if p]


def _filter(elements: list[dict[str, Any]], paths: list[tuple[str, ...]],
            listed: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    out = []
    for i, e in enumerate(elements):
        key = str(i) if listed else e.get("idShort", "")
        mine = [p[1:] for p in paths if p and p[0] == key]
        if not mine:
            continue
        if any(not rest for rest in mine) or not isinstance(e.get("value"), list):
            out.append(e)
            continue
        inner = _filter(e["value"], mine, e.get("modelType") == "SubmodelElementList")
        out.append({**e, "value": inner})
    return out


def _find(elements: list[dict[str, Any]], tokens: list[str], listed: bool = False
          ) -> dict[str, Any] | None:  # fmt: skip
    head, rest = tokens[0], tokens[1:]
    for i, e in enumerate(elements):
        key = str(i) if listed else e.get("idShort", "")
        if key == head:
            if not rest:
                return e
            children = e.get("value")
            if not isinstance(children, list) or e.get("modelType") not in (
                "SubmodelElementCollection",
                "SubmodelElementList",
            ):
                return None
            return _find(children, rest, e.get("modelType") == "SubmodelElementList")
    return None


def value_only(e: dict[str, Any]) -> Any:
    """The ValueOnly form of one element (IDTA-01002 Part 2, §11.4.3)."""
    kind = e.get("modelType")
    if kind == "Property":
        v = e.get("value")
        if v is None:
            return None
        t = e.get("valueType")
        if t == "xs:boolean":
            return v == "true"
        if t in _NUMBERS:
            n = float(v)
            return int(n) if n.is_integer() and t not in ("xs:double", "xs:float") else n
        return v
    if kind == "MultiLanguageProperty":
        return [{x["language"]: x["text"]} for x in e.get("value", [])]
    if kind == "SubmodelElementCollection":
        return {c["idShort"]: value_only(c) for c in e.get("value", [])}
    if kind == "SubmodelElementList":
        return [value_only(c) for c in e.get("value", [])]
    if kind == "File":
        return {"contentType": e.get("contentType", ""), "value": e.get("value", "")}
    if kind == "Blob":  # without its value unless asked for (extent=withBlobValue)
        out = {"contentType": e.get("contentType", "")}
        return {**out, "value": e["value"]} if "value" in e else out
    if kind == "Range":
        return {"min": e.get("min"), "max": e.get("max")}
    return e.get("value")


def onward_extension(onward: bool) -> dict[str, Any]:
    """The usage condition served with what a partner reads: may it pass it on."""
    return {
        "semanticId": {"type": "ExternalReference",
                       "keys": [{"type": "GlobalReference", "value": sem.ONWARD}]},
        "name": sem.ONWARD_NAME,
        "valueType": "xs:boolean",
        "value": "true" if onward else "false",
    }  # fmt: skip


def with_onward(body: dict[str, Any], onward: bool) -> dict[str, Any]:
    """``body`` (a submodel or element) with its onward-sharing extension set to ``onward``."""
    kept = [x for x in body.get("extensions", []) if not _is_onward(x)]
    return {**body, "extensions": [*kept, onward_extension(onward)]}


def _is_onward(ext: dict[str, Any]) -> bool:
    keys = (ext.get("semanticId") or {}).get("keys") or [{}]
    return ext.get("name") == sem.ONWARD_NAME or keys[0].get("value") == sem.ONWARD


def onward_of(body: dict[str, Any]) -> bool | None:
    """What a submodel's onward-sharing extension says (None: it carries none)."""
    for x in body.get("extensions", []):
        if _is_onward(x):
            return str(x.get("value", "")).strip().lower() == "true"
    return None


def withheld(sm: dict[str, Any]) -> bool:
    """Whether a submodel received from a partner may not be passed on: its own
    ``OnwardSharing`` extension, or that of any element in it at any depth, is false (an
    element's statement would otherwise be overwritten by the grant's when served)."""
    stack: list[Any] = [sm]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if onward_of(x) is False:
                return True
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return False


def _refs(shell: dict[str, Any]) -> list[str]:
    return [r["keys"][0]["value"] for r in shell.get("submodels", []) if r.get("keys")]


def held_by_shells(shells: Mapping[str, dict[str, Any]]) -> tuple[set[str], set[str]]:
    """Shells received from a partner that say they may not be passed on (their own
    ``OnwardSharing`` extension is false), and the submodels reachable only through them (on
    no other shell): ``(shell ids, submodel ids)``. Like a submodel whose element says so, they
    are kept for the firm's own use and never served, whatever a grant says."""
    held = {aid for aid, sh in shells.items() if withheld(sh)}
    elsewhere = {sid for aid, sh in shells.items() if aid not in held for sid in _refs(sh)}
    only = {sid for aid in held for sid in _refs(shells[aid]) if sid not in elsewhere}
    return held, only


#: The members holding an element's children (``level=core`` leaves them out below the first).
_CHILDREN = {
    "SubmodelElementCollection": "value",
    "SubmodelElementList": "value",
    "Entity": "statements",
    "AnnotatedRelationshipElement": "annotations",
}


def shape(e: dict[str, Any], *, depth: int | None, blobs: bool) -> dict[str, Any]:
    """One element as ``level`` and ``extent`` ask (IDTA-01002 Part 2, §11.4.1): ``depth`` levels
    of children kept (None: all, ``level=deep``; 0: none), a Blob's value only with ``blobs``
    (``extent=withBlobValue``)."""
    out = e
    if not blobs and e.get("modelType") == "Blob" and "value" in e:
        out = {k: v for k, v in e.items() if k != "value"}
    key = _CHILDREN.get(str(e.get("modelType")))
    if key and isinstance(out.get(key), list):
        if depth == 0:
            out = {k: v for k, v in out.items() if k != key}
        else:
            inner = None if depth is None else depth - 1
            out = {**out, key: [shape(c, depth=inner, blobs=blobs) for c in out[key]]}
    return out


@dataclass(frozen=True)
class View:
    """``level`` and ``extent`` of a request: ``deep`` and ``withoutBlobValue`` by default."""

    level: str = "deep"
    extent: str = "withoutBlobValue"

    @property
    def core(self) -> bool:
        return self.level == "core"

    @property
    def blobs(self) -> bool:
        return self.extent == "withBlobValue"

    def children(self, elements: list[dict[str, Any]], *, has_blob: bool) -> list[dict[str, Any]]:
        """A submodel's elements (or a listing of them): with ``core``, without their own
        children."""
        if not self.core and (self.blobs or not has_blob):
            return elements
        return [shape(e, depth=0 if self.core else None, blobs=self.blobs) for e in elements]

    def element(self, e: dict[str, Any], *, has_blob: bool) -> dict[str, Any]:
        """A requested element: with ``core``, its direct children without theirs."""
        if not self.core and (self.blobs or not has_blob):
            return e
        return shape(e, depth=1 if self.core else None, blobs=self.blobs)

    def submodel(self, sm: dict[str, Any], *, has_blob: bool) -> dict[str, Any]:
        if "submodelElements" not in sm:
            return sm
        kept = self.children(sm["submodelElements"], has_blob=has_blob)
        return sm if kept is sm["submodelElements"] else {**sm, "submodelElements": kept}


@dataclass(frozen=True)
class Allowed:
    rules: list[Rule]
    paths: list[tuple[str, ...]] | None  # None: the whole submodel


class Repository:
    """The catalogue as API JSON, and the cuts for one partner."""

    def __init__(self, catalogue: Catalogue) -> None:
        # only JSON is kept (no basyx objects, whose parent links are reference cycles): a
        # replaced repository is freed at once, also when frozen (service._settle_heap)
        self.submodels: dict[str, dict[str, Any]] = {
            sid: json.loads(json.dumps(sm, cls=AASToJsonEncoder))
            for sid, sm in catalogue.submodels.items()
        }
        self.shells: dict[str, dict[str, Any]] = {
            s.id: json.loads(json.dumps(s, cls=AASToJsonEncoder)) for s in catalogue.shells
        }
        self.refs: dict[str, list[str]] = {
            s.id: [next(iter(r.key)).value for r in s.submodel] for s in catalogue.shells
        }
        #: Submodels received from a partner (imported or pulled) that say they, or an element in
        #: them, may not be passed on, or that sit only on a shell received that says so: never
        #: served to a partner, whatever a grant says.
        self.held: set[str] = {sid for sid, sm in self.submodels.items() if withheld(sm)}
        #: Shells received from a partner that say they may not be passed on: left out of what
        #: is served (``shells`` and ``refs`` hold only the others).
        self.held_shells, only = held_by_shells(self.shells)
        self.held |= only & set(self.submodels)
        for aid in self.held_shells:
            del self.shells[aid], self.refs[aid]
        self._ref_json = {aid: list(self.shells[aid].get("submodels", [])) for aid in self.shells}
        #: Submodels holding a Blob (whose value ``extent=withoutBlobValue`` leaves out).
        self.with_blob: set[str] = {
            sid for sid, sm in self.submodels.items() if '"modelType": "Blob"' in json.dumps(sm)
        }

    def fields(self, sid: str) -> dict[str, Any]:
        sm = self.submodels[sid]
        keys = (sm.get("semanticId") or {}).get("keys") or [{}]
        return {"$sm#semanticId": keys[0].get("value", ""), "$sm#id": sid,
                "$sm#idShort": sm.get("idShort", "")}  # fmt: skip

    def allowed(self, rules: list[Rule], subject: Subject, sid: str, route: str) -> Allowed | None:
        if sid not in self.submodels or sid in self.held:
            return None
        target = Target(route=route, kind="Submodel", id=sid, fields=self.fields(sid))
        ok = decide(rules, subject, "READ", target)
        if not ok:
            return None
        paths: list[tuple[str, ...]] = []
        for r in ok:
            p = element_paths(r)
            frag = fragment_path(r)
            if frag is not None:
                p = self._filtered(sid, r, subject, route, frag, p)
            if p is None:
                return Allowed(ok, None)
            paths.extend(p)
        return Allowed(ok, sorted(set(paths)))

    def _filtered(self, sid: str, rule: Rule, subject: Subject, route: str,
                  frag: tuple[str, ...], given: list[tuple[str, ...]] | None
                  ) -> list[tuple[str, ...]]:  # fmt: skip
        """The idShort paths a rule with a FILTER gives: what its objects give (``given``,
        None for the whole submodel), with the fragment's items the condition does not keep
        left out."""
        elements = self.submodels[sid].get("submodelElements", [])
        node = _find(elements, list(frag)) if frag else None
        if frag and (node is None or not isinstance(node.get("value"), list)):
            return list(given) if given is not None else [(str(e.get("idShort")),)
                                                         for e in elements]  # fmt: skip
        children = elements if not frag else node["value"]  # type: ignore[index]
        listed = bool(frag) and node is not None and node.get("modelType") == "SubmodelElementList"
        base = self.fields(sid)
        kept = {
            (*frag, str(i) if listed else str(c.get("idShort")))
            for i, c in enumerate(children)
            if keeps(rule, subject, Target(route=route, kind="Submodel", id=sid,
                                           fields=_ElementFields(base, c, elements)))
        }  # fmt: skip
        out: list[tuple[str, ...]] = []
        for p in given if given is not None else [()]:
            n = len(frag)
            if len(p) > n and p[:n] == frag:  # inside the fragment: only a kept item's
                if p[: n + 1] in kept:
                    out.append(p)
            elif frag[: len(p)] == p:  # covers the fragment: the rest whole, kept items
                out.extend(_around(elements, p, frag))
                out.extend(sorted(kept))
            else:
                out.append(p)
        return out

    def submodel(self, sid: str, allowed: Allowed) -> dict[str, Any]:
        sm = self.submodels[sid]
        if allowed.paths is None:
            return sm
        return {**sm, "submodelElements": _filter(sm.get("submodelElements", []), allowed.paths)}

    def element(self, sid: str, allowed: Allowed, tokens: list[str]) -> dict[str, Any] | None:
        return _find(self.submodel(sid, allowed).get("submodelElements", []), tokens)

    def shell(self, aid: str, visible: set[str]) -> dict[str, Any]:
        shell = self.shells[aid]
        refs = [r for r in self._ref_json[aid] if r["keys"][0]["value"] in visible]
        out = {k: v for k, v in shell.items() if k != "submodels"}
        if refs:
            out["submodels"] = refs
        return out


def _keys(node: list[dict[str, Any]], listed: bool) -> list[str]:
    return [str(i) if listed else str(e.get("idShort")) for i, e in enumerate(node)]


def _around(elements: list[dict[str, Any]], start: tuple[str, ...],
            frag: tuple[str, ...]) -> list[tuple[str, ...]]:  # fmt: skip
    """The paths under ``start`` beside the way down to ``frag``: everything ``start`` holds
    except the fragment, which the filter decides item by item."""
    out: list[tuple[str, ...]] = []
    children, listed = elements, False
    for depth in range(len(frag)):
        if depth >= len(start):
            out += [(*frag[:depth], k) for k in _keys(children, listed) if k != frag[depth]]
        here = _find(children, [frag[depth]], listed)
        if here is None or not isinstance(here.get("value"), list):
            break
        children, listed = here["value"], here.get("modelType") == "SubmodelElementList"
    return out


class _ElementFields(Mapping[str, Any]):
    """The fields a FILTER condition names for one item: ``$sme#…`` the item itself,
    ``$sme.<path>#…`` an element of the submodel by its path, ``$sm#…`` the submodel."""

    def __init__(self, base: Mapping[str, Any], item: dict[str, Any],
                 elements: list[dict[str, Any]]) -> None:  # fmt: skip
        self._own = {**base, **_sme_fields(item, "$sme")}
        self._elements = elements

    def __getitem__(self, name: str) -> Any:
        if name in self._own:
            return self._own[name]
        m = re.match(r"^\$sme\.(.+)#(.+)$", name)
        if m:
            tokens = [p for p in re.split(r"[.\[\]]+", m.group(1)) if p]
            e = _find(self._elements, tokens)
            fields = _sme_fields(e, "") if e is not None else {}
            if f"#{m.group(2)}" in fields:
                return fields[f"#{m.group(2)}"]
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._own)

    def __len__(self) -> int:
        return len(self._own)


def _sme_fields(e: dict[str, Any], prefix: str) -> dict[str, Any]:
    keys = (e.get("semanticId") or {}).get("keys") or []
    out: dict[str, Any] = {
        f"{prefix}#idShort": e.get("idShort", ""),
        f"{prefix}#valueType": e.get("valueType", ""),
    }
    if keys:
        out[f"{prefix}#semanticId"] = keys[0].get("value", "")
        out[f"{prefix}#semanticId.type"] = e["semanticId"].get("type", "")
        for i, k in enumerate(keys):
            out[f"{prefix}#semanticId.keys[{i}].value"] = k.get("value", "")
            out[f"{prefix}#semanticId.keys[{i}].type"] = k.get("type", "")
    kind = e.get("modelType")
    if kind == "Property" and e.get("value") is not None:
        out[f"{prefix}#value"] = _typed(str(e["value"]), str(e.get("valueType", "")))
    elif kind == "MultiLanguageProperty":
        out[f"{prefix}#value"] = [x.get("text", "") for x in e.get("value", [])]
        out[f"{prefix}#language"] = [x.get("language", "") for x in e.get("value", [])]
    elif kind in ("File", "ReferenceElement") and isinstance(e.get("value"), str):
        out[f"{prefix}#value"] = e["value"]
    return out


def _typed(text: str, value_type: str) -> Any:
    """A Property's value as the condition compares it: numbers, booleans and date-times typed."""
    try:
        if value_type in _NUMBERS:
            return (
                float(text) if value_type in ("xs:double", "xs:float", "xs:decimal") else int(text)
            )
        if value_type == "xs:boolean":
            return text.strip().lower() == "true"
        if value_type == "xs:dateTime":
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    except ValueError:
        return text
    return text


def page(items: list[Any], ids: list[str], *, limit: int | None, cursor: str | None,
         kind: str) -> tuple[list[Any], str | None]:  # fmt: skip
    """One page of a listing. The cursor names the last item given (base64url), so it stays
    valid while the list changes; a cursor from another listing is refused."""
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit {limit} is out of range: give 1 to {MAX_LIMIT}")
    start = 0
    if cursor is not None:
        try:
            tag, last = decode_id(cursor, "cursor").split("\n", 1)
        except (ApiError, ValueError):
            raise ApiError(400, "the cursor is not one this server gave for this list; start "
                                "again without it") from None  # fmt: skip
        if tag != kind:
            raise ApiError(400, f"the cursor belongs to another list ({tag[:40]!r}), not {kind!r}; "
                                "start again without it")  # fmt: skip
        start = next((i + 1 for i, x in enumerate(ids) if x == last), -1)
        if start < 0:
            raise ApiError(400, "the cursor names an item that is no longer in this list; "
                                "start again without it")  # fmt: skip
    end = len(items) if limit is None else start + limit
    nxt = encode_id(f"{kind}\n{ids[end - 1]}") if end < len(items) else None
    return items[start:end], nxt
