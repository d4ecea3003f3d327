"""Access rules in the model of the AAS security specification (IDTA-01004), and their evaluator.

A rule set is the specification's JSON (``{"AllAccessPermissionRules": {...}}``): rules with an
ACL (attributes, rights, ALLOW), objects (ROUTE, IDENTIFIABLE, REFERABLE, …) and a FORMULA over
token claims, model fields (``$sm#semanticId``, ``$aas#id`` …) and time (``GLOBAL(UTCNOW)``);
named ACLs, objects and formulas (DEFACLS, DEFOBJECTS, DEFFORMULAS) are resolved when parsed.
**No rule means no access**: :func:`decide` returns the rules that allow a request, none when
nothing does.

:func:`parse_rules` refuses a malformed rule with its place (``rules[2].FORMULA.$and[1]``).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pilotline.errors import InputError

RIGHTS = ("CREATE", "READ", "UPDATE", "DELETE", "EXECUTE", "VIEW", "ALL", "TREE")
GLOBALS = ("LOCALNOW", "UTCNOW", "CLIENTNOW", "ANONYMOUS")
OBJECT_KINDS = ("ROUTE", "IDENTIFIABLE", "REFERABLE", "FRAGMENT", "DESCRIPTOR")
_LOGICAL = ("$and", "$or", "$not", "$match", "$boolean")
_COMPARE = ("$eq", "$ne", "$gt", "$ge", "$lt", "$le")
_STRING = ("$contains", "$starts-with", "$ends-with", "$regex")
_VALUES = (
    "$field", "$strVal", "$attribute", "$numVal", "$hexVal", "$dateTimeVal", "$timeVal",
    "$boolean", "$strCast", "$numCast", "$hexCast", "$boolCast", "$dateTimeCast", "$timeCast",
    "$dayOfWeek", "$dayOfMonth", "$month", "$year",
)  # fmt: skip
_TIME = re.compile(r"^[0-9][0-9]:[0-9][0-9](:[0-9][0-9])?$")
_TYPED = re.compile(r"^\(([A-Za-z]+)\)(.*)$")
MAX_DEPTH = 32


class RuleError(InputError):
    """A rule set that does not fit the access-rule model; the message names the place."""


@dataclass(frozen=True)
class Rule:
    """One resolved rule. ``index`` is its place in ``rules``; ``objects`` are (kind, text)."""

    index: int
    attributes: tuple[tuple[str, str], ...]
    rights: frozenset[str]
    access: str
    objects: tuple[tuple[str, str], ...]
    formula: dict[str, Any]
    filter: dict[str, Any] | None = None


@dataclass(frozen=True)
class Target:
    """What a request touches: its route, the identifiable (kind, id) and, for an element, its
    idShort path; ``fields`` gives model values by name (``$sm#semanticId`` → "https://…")."""

    route: str
    kind: str = ""  # "Submodel", "AssetAdministrationShell" or ""
    id: str = ""
    path: tuple[str, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Subject:
    claims: Mapping[str, Any]
    now: dt.datetime
    local_tz: dt.tzinfo = dt.UTC


# -- parsing ----------------------------------------------------------------------------------
def _fail(where: str, what: str) -> RuleError:
    return RuleError(f"access rules: {where}: {what}")


def _one_key(obj: Any, allowed: tuple[str, ...], where: str) -> tuple[str, Any]:
    if not isinstance(obj, dict) or len(obj) != 1:
        raise _fail(where, f"expected an object with exactly one of {list(allowed)}")
    key, value = next(iter(obj.items()))
    if key not in allowed:
        raise _fail(where, f"{key!r} is not one of {list(allowed)}")
    return key, value


def _check_attribute(item: Any, where: str) -> tuple[str, str]:
    key, value = _one_key(item, ("CLAIM", "GLOBAL", "REFERENCE"), where)
    if not isinstance(value, str) or not value:
        raise _fail(f"{where}.{key}", "expected a non-empty string")
    if key == "GLOBAL" and value not in GLOBALS:
        raise _fail(f"{where}.GLOBAL", f"{value!r} is not one of {list(GLOBALS)}")
    return key, value


def _check_value(v: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _fail(where, f"nested deeper than {MAX_DEPTH} levels")
    key, value = _one_key(v, _VALUES, where)
    at = f"{where}.{key}"
    if key == "$attribute":
        _check_attribute(value, at)
    elif key.endswith("Cast"):
        _check_value(value, at, depth + 1)
    elif key == "$numVal":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(at, "expected a number")
    elif key == "$boolean":
        if not isinstance(value, bool):
            raise _fail(at, "expected true or false")
    elif not isinstance(value, str):
        raise _fail(at, "expected a string")
    elif key == "$timeVal" and not _TIME.match(value):
        raise _fail(at, f"expected a time as HH:MM or HH:MM:SS, got {value!r}")
    elif key in ("$dateTimeVal", "$dayOfWeek", "$dayOfMonth", "$month", "$year"):
        _datetime(value, at)
    elif key == "$hexVal" and not re.match(r"^16#[0-9A-F]+$", value):
        raise _fail(at, f"expected a hex literal such as 16#FF, got {value!r}")
    elif key == "$field" and not re.match(r"^\$(aas|sm|sme|cd|aasdesc|smdesc)[#.]", value):
        raise _fail(at, f"{value!r} is not a model field such as $sm#semanticId")
    elif key == "$regex":
        pass


def _check_formula(f: Any, where: str, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise _fail(where, f"nested deeper than {MAX_DEPTH} levels")
    key, value = _one_key(f, _LOGICAL + _COMPARE + _STRING, where)
    at = f"{where}.{key}"
    if key in ("$and", "$or", "$match"):
        least = 1 if key == "$match" else 2
        if not isinstance(value, list) or len(value) < least:
            raise _fail(at, f"expected a list of at least {least} expressions")
        for i, sub in enumerate(value):
            _check_formula(sub, f"{at}[{i}]", depth + 1)
    elif key == "$not":
        _check_formula(value, at, depth + 1)
    elif key == "$boolean":
        if not isinstance(value, bool):
            raise _fail(at, "expected true or false")
    else:
        if not isinstance(value, list) or len(value) != 2:
            raise _fail(at, "expected a list of two values")
        for i, sub in enumerate(value):
            _check_value(sub, f"{at}[{i}]", depth + 1)
        if key == "$regex" and "$strVal" in value[1]:
            try:
                re.compile(value[1]["$strVal"])
            except re.error as exc:
                raise _fail(f"{at}[1]", f"not a regular expression: {exc}") from None


def _check_objects(items: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(items, list):
        raise _fail(where, "expected a list of objects")
    out = []
    for i, item in enumerate(items):
        key, value = _one_key(item, OBJECT_KINDS, f"{where}[{i}]")
        if not isinstance(value, str) or not value:
            raise _fail(f"{where}[{i}].{key}", "expected a non-empty string")
        out.append((key, value))
    return tuple(out)


def _check_acl(acl: Any, where: str, attrs: dict[str, Any]) -> tuple[Any, frozenset[str], str]:
    if not isinstance(acl, dict):
        raise _fail(where, "expected an object with ATTRIBUTES, RIGHTS and ACCESS")
    extra = set(acl) - {"ATTRIBUTES", "USEATTRIBUTES", "RIGHTS", "ACCESS"}
    if extra:
        raise _fail(where, f"unknown member(s) {sorted(extra)}")
    if "USEATTRIBUTES" in acl:
        if acl["USEATTRIBUTES"] not in attrs:
            raise _fail(
                f"{where}.USEATTRIBUTES", f"no DEFATTRIBUTES named {acl['USEATTRIBUTES']!r}"
            )
        attributes = attrs[acl["USEATTRIBUTES"]]
    else:
        raw = acl.get("ATTRIBUTES")
        if not isinstance(raw, list):
            raise _fail(f"{where}.ATTRIBUTES", "expected a list of attributes")
        attributes = tuple(
            _check_attribute(a, f"{where}.ATTRIBUTES[{i}]") for i, a in enumerate(raw)
        )
    rights = acl.get("RIGHTS")
    if not isinstance(rights, list) or not rights:
        raise _fail(f"{where}.RIGHTS", f"expected a list of rights from {list(RIGHTS)}")
    for i, r in enumerate(rights):
        if r not in RIGHTS:
            raise _fail(f"{where}.RIGHTS[{i}]", f"{r!r} is not one of {list(RIGHTS)}")
    if acl.get("ACCESS") not in ("ALLOW", "DISABLED"):
        raise _fail(f"{where}.ACCESS", "expected ALLOW or DISABLED")
    return attributes, frozenset(rights), str(acl["ACCESS"])


def parse_rules(doc: Any) -> list[Rule]:
    """Check a rule document and resolve its named parts; a malformed one is refused with its
    place."""
    if not isinstance(doc, dict) or set(doc) != {"AllAccessPermissionRules"}:
        raise _fail("(top level)", "expected an object with one member, AllAccessPermissionRules")
    body = doc["AllAccessPermissionRules"]
    top = "AllAccessPermissionRules"
    if not isinstance(body, dict) or not isinstance(body.get("rules"), list):
        raise _fail(top, "expected an object with a list of rules")
    extra = set(body) - {"DEFATTRIBUTES", "DEFACLS", "DEFOBJECTS", "DEFFORMULAS", "rules"}
    if extra:
        raise _fail(top, f"unknown member(s) {sorted(extra)}")
    attrs: dict[str, Any] = {}
    for i, d in enumerate(body.get("DEFATTRIBUTES", [])):
        where = f"{top}.DEFATTRIBUTES[{i}]"
        if not isinstance(d, dict) or not isinstance(d.get("attributes"), list):
            raise _fail(where, "expected name and attributes")
        attrs[str(d.get("name"))] = tuple(
            _check_attribute(a, f"{where}.attributes[{j}]") for j, a in enumerate(d["attributes"])
        )
    acls: dict[str, Any] = {}
    for i, d in enumerate(body.get("DEFACLS", [])):
        where = f"{top}.DEFACLS[{i}]"
        if not isinstance(d, dict) or "name" not in d or "acl" not in d:
            raise _fail(where, "expected name and acl")
        acls[str(d["name"])] = _check_acl(d["acl"], f"{where}.acl", attrs)
    objects: dict[str, tuple[tuple[str, str], ...]] = {}
    for i, d in enumerate(body.get("DEFOBJECTS", [])):
        where = f"{top}.DEFOBJECTS[{i}]"
        if not isinstance(d, dict) or "name" not in d:
            raise _fail(where, "expected name and objects")
        if "objects" in d:
            objects[str(d["name"])] = _check_objects(d["objects"], f"{where}.objects")
        else:
            objects[str(d["name"])] = _use_objects(d.get("USEOBJECTS"), objects, where)
    formulas: dict[str, Any] = {}
    for i, d in enumerate(body.get("DEFFORMULAS", [])):
        where = f"{top}.DEFFORMULAS[{i}]"
        if not isinstance(d, dict) or "name" not in d or "formula" not in d:
            raise _fail(where, "expected name and formula")
        _check_formula(d["formula"], f"{where}.formula")
        formulas[str(d["name"])] = d["formula"]
    out = []
    for i, r in enumerate(body["rules"]):
        where = f"rules[{i}]"
        if not isinstance(r, dict):
            raise _fail(where, "expected an object")
        extra = set(r) - {
            "ACL",
            "USEACL",
            "OBJECTS",
            "USEOBJECTS",
            "FORMULA",
            "USEFORMULA",
            "FILTER",
        }
        if extra:
            raise _fail(where, f"unknown member(s) {sorted(extra)}")
        for a, b in (("ACL", "USEACL"), ("OBJECTS", "USEOBJECTS"), ("FORMULA", "USEFORMULA")):
            if (a in r) == (b in r):
                raise _fail(where, f"expected exactly one of {a} and {b}")
        if "USEACL" in r:
            if r["USEACL"] not in acls:
                raise _fail(f"{where}.USEACL", f"no DEFACLS named {r['USEACL']!r}")
            attributes, rights, access = acls[r["USEACL"]]
        else:
            attributes, rights, access = _check_acl(r["ACL"], f"{where}.ACL", attrs)
        if "USEOBJECTS" in r:
            objs = _use_objects(r["USEOBJECTS"], objects, where)
        else:
            objs = _check_objects(r["OBJECTS"], f"{where}.OBJECTS")
        if "USEFORMULA" in r:
            if r["USEFORMULA"] not in formulas:
                raise _fail(f"{where}.USEFORMULA", f"no DEFFORMULAS named {r['USEFORMULA']!r}")
            formula = formulas[r["USEFORMULA"]]
        else:
            _check_formula(r["FORMULA"], f"{where}.FORMULA")
            formula = r["FORMULA"]
        filt = _check_filter(r.get("FILTER"), f"{where}.FILTER", objs, formulas)
        out.append(Rule(i, tuple(attributes), rights, access, objs, formula, filt))
    return out


_FRAGMENT = re.compile(
    r"^\$sme(\.[A-Za-z][A-Za-z0-9_-]*(\[[0-9]+\])*(\.[A-Za-z][A-Za-z0-9_-]*(\[[0-9]+\])*)*)?$"
)


def _check_filter(filt: Any, where: str, objs: tuple[tuple[str, str], ...],
                  formulas: dict[str, Any]) -> dict[str, Any] | None:  # fmt: skip
    """A rule's FILTER, resolved to ``{"FRAGMENT": …, "CONDITION": …}``; one this server cannot
    apply as written is refused with its place rather than granting more or less.

    Applied: a fragment of submodel elements, ``$sme`` (the submodel's elements) or
    ``$sme.<idShort path>`` (the children of that collection or list); each item is kept when
    the condition holds for it (``$sme#idShort``, ``$sme#value`` … name the item). A descriptor
    fragment (``$aasdesc#…``, ``$smdesc#…``) is accepted only on a rule whose objects are all
    descriptors, which grants nothing here (no descriptors are served)."""
    if filt is None:
        return None
    if not isinstance(filt, dict) or set(filt) - {"FRAGMENT", "CONDITION", "USEFORMULA"}:
        raise _fail(where, "expected FRAGMENT and one of CONDITION or USEFORMULA")
    fragment = filt.get("FRAGMENT")
    if not isinstance(fragment, str) or not fragment:
        raise _fail(f"{where}.FRAGMENT", "expected a fragment such as $sme or $sme.Documents")
    if ("CONDITION" in filt) == ("USEFORMULA" in filt):
        raise _fail(where, "expected exactly one of CONDITION and USEFORMULA")
    if "USEFORMULA" in filt:
        if filt["USEFORMULA"] not in formulas:
            raise _fail(f"{where}.USEFORMULA", f"no DEFFORMULAS named {filt['USEFORMULA']!r}")
        condition = formulas[filt["USEFORMULA"]]
    else:
        _check_formula(filt["CONDITION"], f"{where}.CONDITION")
        condition = filt["CONDITION"]
    descriptors = bool(objs) and all(k == "DESCRIPTOR" for k, _ in objs)
    if re.match(r"^\$(aasdesc|smdesc)#", fragment) and descriptors:
        return {"FRAGMENT": fragment, "CONDITION": condition}
    if not _FRAGMENT.match(fragment) or descriptors:
        raise _fail(
            f"{where}.FRAGMENT",
            f"{fragment!r} cannot be applied here: this server applies FILTER to submodel "
            "elements only ($sme for a submodel's elements, $sme.<idShort path> for the "
            "children of a collection or list), and descriptor fragments only on DESCRIPTOR "
            "objects",
        )
    if any(k not in ("IDENTIFIABLE", "REFERABLE", "ROUTE") for k, _ in objs):
        raise _fail(f"{where}.FRAGMENT", "a $sme fragment filters submodels: use it with "
                                         "IDENTIFIABLE, REFERABLE or ROUTE objects")  # fmt: skip
    return {"FRAGMENT": fragment, "CONDITION": condition}


def fragment_path(rule: Rule) -> tuple[str, ...] | None:
    """The idShort path a rule's FILTER applies below (``()``: the submodel's elements), or None
    when it has no FILTER on submodel elements."""
    if rule.filter is None or not rule.filter["FRAGMENT"].startswith("$sme"):
        return None
    return tuple(p for p in re.split(r"[.\[\]]+", rule.filter["FRAGMENT"][4:]) if p)


def keeps(rule: Rule, subject: Subject, item: Target) -> bool:
    """Whether a rule's FILTER condition keeps one item (an element, a list entry), given as a
    target whose fields name it (``$sme#idShort`` …); True without a FILTER."""
    if rule.filter is None:
        return True
    return _holds(rule.filter["CONDITION"], _Scope(subject, item))


def _use_objects(names: Any, objects: dict[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(names, list):
        raise _fail(f"{where}.USEOBJECTS", "expected a list of names")
    out: list[tuple[str, str]] = []
    for n in names:
        if n not in objects:
            raise _fail(f"{where}.USEOBJECTS", f"no DEFOBJECTS named {n!r}")
        out.extend(objects[n])
    return tuple(out)


# -- evaluation -------------------------------------------------------------------------------
def _datetime(text: str, where: str = "") -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(
            where or "value", f"expected a date-time such as 2026-12-31T00:00:00Z, got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


_UNDEFINED = object()


@dataclass
class _Scope:
    subject: Subject
    target: Target
    index: int | None = None  # the item a $match is looking at


def _field(name: str, scope: _Scope) -> Any:
    value = scope.target.fields.get(name, _UNDEFINED)
    if "[]" in name and isinstance(value, list):
        if scope.index is None:
            return value  # any item
        return value[scope.index] if scope.index < len(value) else _UNDEFINED
    return value


def _attribute(item: dict[str, str], scope: _Scope) -> Any:
    key, name = next(iter(item.items()))
    if key == "CLAIM":
        return scope.subject.claims.get(name, _UNDEFINED)
    if key == "GLOBAL":
        if name == "ANONYMOUS":
            return "ANONYMOUS"
        if name == "LOCALNOW":
            return scope.subject.now.astimezone(scope.subject.local_tz)
        return scope.subject.now.astimezone(dt.UTC)
    # REFERENCE "(Submodel)*#Id" and the like: the target's id or idShort
    ref = name.lower()
    if ref.endswith("#id"):
        return scope.target.id or _UNDEFINED
    return _UNDEFINED


def _value(v: dict[str, Any], scope: _Scope) -> Any:
    key, x = next(iter(v.items()))
    if key == "$field":
        return _field(x, scope)
    if key == "$attribute":
        return _attribute(x, scope)
    if key == "$timeVal":
        return dt.time.fromisoformat(x)
    if key == "$dateTimeVal":
        return _datetime(x)
    if key == "$hexVal":
        return int(x[3:], 16)
    if key in ("$strVal", "$numVal", "$boolean"):
        return x
    if key in ("$dayOfWeek", "$dayOfMonth", "$month", "$year"):
        d = _datetime(x)
        return {"$dayOfWeek": d.isoweekday(), "$dayOfMonth": d.day, "$month": d.month,
                "$year": d.year}[key]  # fmt: skip
    inner = _value(x, scope)
    if inner is _UNDEFINED:
        return _UNDEFINED
    try:
        if key == "$strCast":
            return inner.isoformat() if isinstance(inner, dt.datetime | dt.time) else str(inner)
        if key == "$numCast":
            return float(inner)
        if key == "$boolCast":
            return inner if isinstance(inner, bool) else str(inner).lower() == "true"
        if key == "$hexCast":
            return int(inner)
        if key == "$dateTimeCast":
            return inner if isinstance(inner, dt.datetime) else _datetime(str(inner))
        if key == "$timeCast":
            return (
                inner.timetz().replace(tzinfo=None)
                if isinstance(inner, dt.datetime)
                else dt.time.fromisoformat(str(inner))
            )
    except (ValueError, TypeError, RuleError):
        return _UNDEFINED
    return _UNDEFINED


def _pair(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Two values made comparable, or None when they cannot be compared."""
    if a is _UNDEFINED or b is _UNDEFINED:
        return None
    if isinstance(a, dt.datetime) and isinstance(b, dt.time):
        return a.time(), b
    if isinstance(a, dt.time) and isinstance(b, dt.datetime):
        return a, b.time()
    if isinstance(a, bool) or isinstance(b, bool):
        return (a, b) if isinstance(a, bool) and isinstance(b, bool) else None
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a, b
    if type(a) is type(b):
        return a, b
    return None


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda a, b: a == b,
    "$ne": lambda a, b: a != b,
    "$gt": lambda a, b: a > b,
    "$ge": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$le": lambda a, b: a <= b,
    "$contains": lambda a, b: b in a,
    "$starts-with": lambda a, b: a.startswith(b),
    "$ends-with": lambda a, b: a.endswith(b),
    "$regex": lambda a, b: re.search(b, a) is not None,
}


def _compare(op: str, args: list[dict[str, Any]], scope: _Scope) -> bool:
    left, right = _value(args[0], scope), _value(args[1], scope)
    lefts = left if isinstance(left, list) else [left]
    rights = right if isinstance(right, list) else [right]
    for a in lefts:
        for b in rights:
            if op in _STRING:
                if isinstance(a, str) and isinstance(b, str) and _OPS[op](a, b):
                    return True
                continue
            pair = _pair(a, b)
            try:
                if pair is not None and _OPS[op](*pair):
                    return True
            except TypeError:
                continue
    return False


def _holds(f: dict[str, Any], scope: _Scope) -> bool:
    key, x = next(iter(f.items()))
    if key == "$and":
        return all(_holds(s, scope) for s in x)
    if key == "$or":
        return any(_holds(s, scope) for s in x)
    if key == "$not":
        return not _holds(x, scope)
    if key == "$boolean":
        return bool(x)
    if key == "$match":
        # every condition holds for one and the same item of the lists they name
        sizes = [len(v) for v in scope.target.fields.values() if isinstance(v, list)]
        if not sizes:  # one item (a FILTER's), its fields plain values
            return all(_holds(s, scope) for s in x)
        for i in range(max(sizes)):
            inner = _Scope(scope.subject, scope.target, i)
            if all(_holds(s, inner) for s in x):
                return True
        return False
    return _compare(key, x, scope)


def _object_covers(kind: str, text: str, target: Target) -> bool:
    if kind == "ROUTE":
        return text == "*" or fnmatch.fnmatchcase(target.route, text)
    if kind == "IDENTIFIABLE":
        m = _TYPED.match(text.strip())
        if not m or not target.kind:
            return False
        return m.group(1) == target.kind and fnmatch.fnmatchcase(target.id, m.group(2) or "*")
    if kind == "REFERABLE":
        parts = [p.strip() for p in text.split(",")]
        m = _TYPED.match(parts[0])
        if not m or m.group(1) != target.kind or not fnmatch.fnmatchcase(target.id, m.group(2)):
            return False
        path = tuple(_idshort(p) for p in parts[1:])
        # the element itself, what is inside it, and the containers on the way to it
        n = min(len(path), len(target.path))
        return path[:n] == target.path[:n]
    if kind == "DESCRIPTOR":
        m = _TYPED.match(text.strip())
        return bool(
            m
            and target.kind
            and m.group(1).lower() == target.kind.lower()
            and fnmatch.fnmatchcase(target.id, m.group(2) or "*")
        )
    return False  # FRAGMENT: parts of a descriptor, not served here


def _idshort(part: str) -> str:
    """``(Property)p1`` → ``p1``; a bare ``p1`` stays."""
    m = _TYPED.match(part)
    return m.group(2) if m else part


def element_paths(rule: Rule) -> list[tuple[str, ...]] | None:
    """The idShort paths a rule's REFERABLE objects give, or None when it gives whole objects."""
    paths = []
    for kind, text in rule.objects:
        if kind != "REFERABLE":
            return None
        parts = [p.strip() for p in text.split(",")][1:]
        paths.append(tuple(_idshort(p) for p in parts))
    return paths


def decide(rules: list[Rule], subject: Subject, right: str, target: Target) -> list[Rule]:
    """The rules that allow ``right`` on ``target`` for ``subject``: empty means no access."""
    scope = _Scope(subject, target)
    allowed = []
    for rule in rules:
        if rule.access != "ALLOW":
            continue
        if right not in rule.rights and "ALL" not in rule.rights:
            continue
        if any(k == "CLAIM" and v not in subject.claims for k, v in rule.attributes):
            continue
        if not any(_object_covers(k, t, target) for k, t in rule.objects):
            continue
        if _holds(rule.formula, scope):
            allowed.append(rule)
    return allowed
