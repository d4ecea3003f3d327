"""Routing models as Petri nets (PNML), and token-based replay on the engine.

Pilotline replays logs on **state-machine** nets itself: every transition has a label of its own,
one place before it and one after, and nothing is silent; the initial marking is one token in
one place, the final marking one token in one place. On such a net token-based replay is
deterministic — an event whose place holds no token gets a *missing* token, tokens left at the
end (beyond the final marking) are *remaining* — and it can be written as a few columnar steps:
for each case and place, the running sum of tokens taken and given, whose lowest point says how
many were missing. The answer is that of pm4py's token-based replay on the same net (its default
settings: events of activities the net does not have are skipped), without visiting traces one by
one. Nets with silent transitions, parallel branches or duplicate labels need the pm4py extra
(alignments).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from pilotline.errors import InputError


@dataclass(frozen=True)
class StateMachine:
    """Transitions by label, each with the place it takes a token from and the one it gives to."""

    transitions: dict[str, tuple[str, str]]
    source: str  # the initial marking: one token here
    sink: str  # the final marking: one token here

    @property
    def places(self) -> list[str]:
        found = {self.source, self.sink}
        for a, b in self.transitions.values():
            found |= {a, b}
        return sorted(found)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(elem: ET.Element | None) -> str | None:
    if elem is None:
        return None
    for child in elem.iter():
        if _local(child.tag) == "text" and child.text is not None:
            return child.text.strip()
    return None


def read_pnml(path: Path) -> StateMachine:
    """Read a PNML Petri net that is a state machine; say exactly why when it is not."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, column = exc.position
        raise InputError(f"{path}: not well-formed XML at line {line}, column {column}") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    places: dict[str, int] = {}
    labels: dict[str, str | None] = {}
    arcs: list[tuple[str, str]] = []
    final: dict[str, int] = {}
    for elem in root.iter():
        tag = _local(elem.tag)
        if tag == "place" and elem.get("id"):
            marking = next((c for c in elem if _local(c.tag) == "initialMarking"), None)
            places[elem.get("id", "")] = int(_text(marking) or 0)
        elif tag == "transition" and elem.get("id"):
            name = next((c for c in elem if _local(c.tag) == "name"), None)
            silent = any(
                _local(c.tag) == "toolspecific" and c.get("activity") == "$invisible$" for c in elem
            )
            labels[elem.get("id", "")] = None if silent else _text(name)
        elif tag == "arc":
            arcs.append((elem.get("source", ""), elem.get("target", "")))
        elif tag == "finalmarkings":
            for p in elem.iter():
                if _local(p.tag) == "place" and p.get("idref"):
                    final[p.get("idref", "")] = int(_text(p) or 0)
    problems = []
    hidden = [t for t, label in labels.items() if not label]
    if hidden:
        problems.append(f"{len(hidden)} silent transition(s) ({', '.join(sorted(hidden)[:5])})")
    twice = [label for label, n in Counter(labels.values()).items() if label and n > 1]
    if twice:
        problems.append(f"labels used by more than one transition: {sorted(twice)[:5]}")
    ins: dict[str, list[str]] = {t: [] for t in labels}
    outs: dict[str, list[str]] = {t: [] for t in labels}
    for a, b in arcs:
        if a in labels and b in places:
            outs[a].append(b)
        elif b in labels and a in places:
            ins[b].append(a)
        else:
            problems.append(f"an arc from {a!r} to {b!r} does not join a place and a transition")
    branching = [t for t in labels if len(ins[t]) != 1 or len(outs[t]) != 1]
    if branching:
        problems.append(
            "transitions without exactly one place before and one after (parallel branches): "
            + ", ".join(sorted(str(labels[t] or t) for t in branching)[:5])
        )
    start = [p for p, n in places.items() if n]
    if len(start) != 1 or places[start[0]] != 1:
        problems.append("the initial marking must be one token in one place")
    end = [p for p, n in final.items() if n]
    if len(end) != 1 or final[end[0]] != 1:
        problems.append("the final marking (<finalmarkings>) must be one token in one place")
    if problems:
        raise InputError(
            f"{path} is not a state-machine net, which Pilotline replays itself: "
            + "; ".join(problems[:6])
            + ". Check it with the pm4py extra instead (--method align)."
        )
    transitions = {str(labels[t]): (ins[t][0], outs[t][0]) for t in labels}
    return StateMachine(transitions, start[0], end[0])


def write_pnml(net: StateMachine, path: Path) -> None:
    """Write the net as PNML (with its final marking, as pm4py reads it)."""
    pnml = ET.Element("pnml")
    n = ET.SubElement(
        pnml, "net", id="net1", type="http://www.pnml.org/version-2009/grammar/pnmlcoremodel"
    )
    ET.SubElement(ET.SubElement(n, "name"), "text").text = "routing"
    page = ET.SubElement(n, "page", id="n0")
    for p in net.places:
        place = ET.SubElement(page, "place", id=p)
        ET.SubElement(ET.SubElement(place, "name"), "text").text = p
        if p == net.source:
            ET.SubElement(ET.SubElement(place, "initialMarking"), "text").text = "1"
    for k, (label, (a, b)) in enumerate(sorted(net.transitions.items())):
        tid = f"t{k}"
        t = ET.SubElement(page, "transition", id=tid)
        ET.SubElement(ET.SubElement(t, "name"), "text").text = label
        ET.SubElement(page, "arc", id=f"{tid}_in", source=a, target=tid)
        ET.SubElement(page, "arc", id=f"{tid}_out", source=tid, target=b)
    marking = ET.SubElement(ET.SubElement(n, "finalmarkings"), "marking")
    ET.SubElement(ET.SubElement(marking, "place", idref=net.sink), "text").text = "1"
    ET.ElementTree(pnml).write(path, encoding="utf-8", xml_declaration=True)


def token_replay(t: Any, names: Any, net: StateMachine) -> Any:
    """Per case: missing, consumed, remaining and produced tokens and the token-based fitness
    ``½(1 − missing/consumed) + ½(1 − remaining/produced)``.

    ``t`` is an events table with ``case_no``, ``pos`` and the activity number ``a``; ``names``
    maps numbers to names. Each event takes a token from its transition's place before (order
    ``2·pos``) and gives one to its place after (``2·pos + 1``); the initial token comes first and
    the final marking takes one token from the sink last. For each case and place, the lowest
    running sum below zero is the number of missing tokens, and what is left the remaining ones.
    """
    model = ibis.memtable(
        pa.table(
            {
                "m_activity": list(net.transitions),
                "m_in": [a for a, _ in net.transitions.values()],
                "m_out": [b for _, b in net.transitions.values()],
            }
        )
    )
    codes = names.join(model, names.activity == model.m_activity).select(
        m_a=names.a, m_in=model.m_in, m_out=model.m_out
    )
    ev = t.join(codes, t.a == codes.m_a).select("case_no", "pos", "m_in", "m_out")
    cases = t.select("case_no").distinct()
    last = 2**40  # after every event of any case
    steps = (
        ev.select(
            case_no=ev.case_no, place=ev.m_in, k=ev.pos.cast(dt.int64) * 2, d=ibis.literal(-1)
        )
        .union(
            ev.select(
                case_no=ev.case_no,
                place=ev.m_out,
                k=ev.pos.cast(dt.int64) * 2 + 1,
                d=ibis.literal(1),
            )
        )
        .union(
            cases.select(
                case_no=cases.case_no,
                place=ibis.literal(net.source),
                k=ibis.literal(-1, "int64"),
                d=ibis.literal(1),
            )
        )
        .union(
            cases.select(
                case_no=cases.case_no,
                place=ibis.literal(net.sink),
                k=ibis.literal(last, "int64"),
                d=ibis.literal(-1),
            )
        )
    )
    w = ibis.cumulative_window(group_by=[steps.case_no, steps.place], order_by=steps.k)
    run = steps.mutate(s=steps.d.sum().over(w))
    per_place = run.group_by(["case_no", "place"]).aggregate(low=run.s.min(), net=run.d.sum())
    missing = ibis.greatest(-per_place.low, 0)
    per_place = per_place.mutate(missing=missing, left=per_place.net + missing)
    fired = ev.group_by(ev.case_no.name("f_no")).aggregate(fired=ev.count())
    out = per_place.group_by("case_no").aggregate(
        missing=per_place.missing.sum(), remaining=per_place.left.sum()
    )
    out = out.left_join(fired, out.case_no == fired.f_no)
    n = out.fired.fill_null(0) + 1  # the transitions fired, and the initial/final token
    out = out.select(
        "case_no",
        missing=out.missing,
        consumed=n,
        remaining=out.remaining,
        produced=n,
    )
    return out.mutate(
        fitness=0.5 * (1 - out.missing.cast(dt.float64) / out.consumed)
        + 0.5 * (1 - out.remaining.cast(dt.float64) / out.produced)
    )


def main_route(
    dfg: list[dict[str, Any]], starts: dict[str, int], ends: dict[str, int]
) -> StateMachine:
    """A strict routing model from a log: each activity may only follow the step that most
    often comes before it (or start the case, if that is more common), and the case should end
    after the most common last step. A first model to edit, and the benchmark's model."""
    best: dict[str, tuple[str, int]] = {}
    for r in dfg:
        if r["target"] not in best or r["count"] > best[r["target"]][1]:
            best[r["target"]] = (r["source"], r["count"])
    activities = set(best) | set(starts)
    transitions = {}
    for a in sorted(activities):
        before = best.get(a)
        if before is None or starts.get(a, 0) >= before[1]:
            transitions[a] = ("start", f"after {a}")
        else:
            transitions[a] = (f"after {before[0]}", f"after {a}")
    last = max(sorted(ends), key=lambda a: ends[a])
    return StateMachine(transitions, "start", f"after {last}")


def explain_replay(net: StateMachine, trace: list[str]) -> list[dict[str, str]]:
    """What went wrong when ``trace`` (a case's activities in order) is replayed on ``net``, in
    plain words: ``what`` (missing, wrong order, extra, unfinished) and ``detail``. Replays as
    :func:`token_replay` counts: an activity the net lacks is passed over (and named extra); an
    event whose place holds no token is wrong order if a later event would have put one there,
    else a step before it is missing; tokens left at the end mean the case did not finish."""
    given_by: dict[str, set[str]] = {}
    for label, (_, out) in net.transitions.items():
        given_by.setdefault(out, set()).add(label)
    tokens: Counter[str] = Counter({net.source: 1})
    found: list[dict[str, str]] = []
    for i, act in enumerate(trace):
        if act not in net.transitions:
            found.append({"what": "extra", "detail": f"{act}: a step the model does not have"})
            continue
        before, after = net.transitions[act]
        if tokens[before] > 0:
            tokens[before] -= 1
        elif given_by.get(before, set()) & set(trace[i + 1 :]):
            found.append(
                {"what": "wrong order", "detail": f"{act} before the step that leads to it"}
            )
        else:
            found.append({"what": "missing", "detail": f"the step before {act}"})
        tokens[after] += 1
    last = next((a for a in reversed(trace) if a in net.transitions), None)
    if tokens[net.sink] > 0:
        tokens[net.sink] -= 1
    else:
        where = f"after {last}" if last else "with no step of the model"
        found.append({"what": "missing", "detail": f"the end: the case stops {where}"})
    left = sorted(p for p, n in tokens.items() if n > 0)
    if left:
        found.append({"what": "unfinished", "detail": "work left waiting at " + ", ".join(left)})
    return found
