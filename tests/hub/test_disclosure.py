"""Disclosure control: primary rules on worked cells, secondary suppression attacked with linear
programs on 1-, 2- and 3-way tables, and the ``hub disclosure`` contract."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog
from typer.testing import CliRunner

from pilotline.cli import app
from pilotline.errors import InputError
from pilotline.hub.disclosure import (
    TOTAL,
    Cell,
    Rules,
    Table,
    audit,
    audit_failures,
    primary_rules,
    suppress,
)

RULES = Rules()


def cell(*values: float) -> Cell:
    top = sorted(values, reverse=True)
    return Cell(("a",), len(values), float(sum(values)), top[:2])


@pytest.mark.parametrize(
    ("values", "rules", "failed"),
    [
        # 2 firms: too few, and each can read the other's figure exactly (X − x1 − x2 = 0)
        ((50, 50), RULES, ["min_firms", "nk", "p"]),
        # 4 firms, the two largest hold 90 % > 85 %; the rest (10) is more than 10 % of 80
        ((80, 10, 5, 5), RULES, ["nk"]),
        # one firm dominates: the rest (4) is under 10 % of 100
        ((100, 5, 3, 1), RULES, ["nk", "p"]),
        # well spread
        ((30, 25, 25, 20), RULES, []),
        # p = 40 only: top two 80/98 = 81.6 % ≤ 85 %, rest 18 < 40 % of 50 = 20
        ((50, 30, 6, 6, 6), Rules(p=40), ["p"]),
        ((50, 30, 7, 7, 7), Rules(p=40), []),  # rest 21 ≥ 20
        # (3,75) instead of (2,85): 40+30+10 = 80 of 100 > 75 %
        ((40, 30, 10, 10, 10), Rules(n=3, k=75), ["nk"]),
        # three firms but a minimum of five
        ((10, 10, 10), Rules(min_firms=5), ["min_firms"]),
    ],
)
def test_primary_rules_on_worked_cells(values, rules, failed) -> None:
    c = cell(*values)
    c.top = sorted(values, reverse=True)[: max(2, rules.n)]
    assert primary_rules(c, rules) == failed


def test_plants_of_one_firm_are_one_contributor() -> None:
    t = Table.build(["x"], [(("a",), "f1", 10), (("a",), "f1", 10), (("a",), "f2", 10)])
    assert t.cells[("a",)].firms == 2
    assert t.cells[("a",)].top == [20.0, 10.0]


def attack(table: Table) -> dict[tuple[str, ...], tuple[float, float]]:
    """Written apart from the library's audit: what someone holding only the published table
    (values of published cells, the structure, values ≥ 0) can say about each hidden cell."""
    keys = table.keys
    hidden = [k for k in keys if table.cells[k].status != "published"]
    pos = {k: i for i, k in enumerate(hidden)}
    rows, rhs = [], []
    for k in keys:
        for j, part in enumerate(k):
            if part != TOTAL:
                continue
            row = np.zeros(len(hidden))
            b = 0.0
            children = [(*k[:j], lv, *k[j + 1 :]) for lv in table.levels[j]]
            for sign, kk in [(1.0, k)] + [(-1.0, c) for c in children]:
                if kk in pos:
                    row[pos[kk]] += sign
                else:
                    b -= sign * table.cells[kk].value
            if row.any():
                rows.append(row)
                rhs.append(b)
    out = {}
    for k in hidden:
        c = np.zeros(len(hidden))
        c[pos[k]] = 1
        lo = linprog(c, A_eq=np.array(rows), b_eq=rhs, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=np.array(rows), b_eq=rhs, bounds=(0, None), method="highs")
        assert lo.status == 0
        out[k] = (lo.fun, -hi.fun if hi.status == 0 else np.inf)
    return out


def random_table(dims: int, sizes: list[int], firms: int, seed: int) -> Table:
    rng = random.Random(seed)
    contributions = []
    for f in range(firms):
        key = tuple(f"{chr(65 + d)}{rng.randrange(sizes[d])}" for d in range(dims))
        for _plant in range(rng.choice([1, 1, 2])):
            contributions.append((key, f"firm{f}", round(rng.lognormvariate(3, 1.2), 2)))
    return Table.build([f"d{d}" for d in range(dims)], contributions)


@pytest.mark.parametrize(
    ("dims", "sizes", "firms", "seed"),
    [(1, [6], 14, 1), (2, [4, 5], 45, 2), (2, [6, 3], 30, 3), (3, [3, 3, 4], 70, 4)],
)
def test_secondary_suppression_withstands_the_attack(dims, sizes, firms, seed) -> None:
    t = random_table(dims, sizes, firms, seed)
    suppress([t], RULES)
    primaries = [c for c in t.cells.values() if c.status == "primary"]
    assert primaries, "the example should have unsafe cells"
    intervals = attack(t)
    for c in primaries:
        low, high = intervals[c.key]
        want = RULES.p / 100 * c.top[0] if "p" in c.rules else RULES.protect_pct / 100 * c.value
        assert high >= c.value + want - 1e-6, (c.key, low, high, c.value)
        assert low <= max(0.0, c.value - want) + 1e-6, (c.key, low, high, c.value)
        assert low <= c.value <= high


def test_secondary_cells_close_the_rectangle() -> None:
    """B×X fails dominance (100 of 105) and C×Y has two firms: hiding them alone would let the
    row and column totals give them back; the cheapest cover is the rectangle B,C × X,Y."""
    data = {("A", "X"): [10, 12, 9], ("A", "Y"): [5, 6, 7, 4], ("B", "X"): [100, 3, 2],
            ("B", "Y"): [8, 9, 7], ("C", "X"): [4, 6, 5], ("C", "Y"): [9, 8]}  # fmt: skip
    n = itertools.count()
    t = Table.build(["r", "c"], [(k, f"f{next(n)}", v) for k, vs in data.items() for v in vs])
    suppress([t], RULES)
    status = {k: c.status for k, c in t.cells.items() if c.status != "published"}
    assert status == {("B", "X"): "primary", ("C", "Y"): "primary",
                      ("B", "Y"): "secondary", ("C", "X"): "secondary"}  # fmt: skip
    assert t.cells[("B", "X")].rules == ["nk", "p"]
    assert t.cells[("C", "Y")].rules == ["min_firms", "nk", "p"]
    low, high = attack(t)[("B", "X")]
    assert (low, high) == (pytest.approx(88), pytest.approx(120))  # C×Y ≥ 0, C×X ≥ 0


def test_a_lone_suppressed_cell_would_be_recovered() -> None:
    """The attack is real: hiding only the primary cell of a row gives it away exactly."""
    t = random_table(2, [4, 5], 45, 2)
    for c in t.cells.values():
        c.status = "published"
    target = next(k for k in t.keys if TOTAL not in k)
    t.cells[target].status = "primary"
    low, high = attack(t)[target]
    assert low == pytest.approx(t.cells[target].value) == pytest.approx(high)
    t.cells[target].upper = t.cells[target].lower = 1.0
    assert len(audit_failures(t, audit(t))) == 1  # the library's audit sees it too


def test_measures_share_one_pattern() -> None:
    keys = list(itertools.product(["a", "b", "c"], ["x", "y", "z"]))
    rng = random.Random(7)
    contrib = [(k, f"f{i}", rng.uniform(1, 9)) for i, k in enumerate(keys * 3)]
    contrib += [(("a", "x"), "big", 500.0)]
    first = Table.build(["r", "c"], contrib)
    second = Table.build(["r", "c"], [(k, f, 1.0) for k, f, _v in contrib])
    suppress([first, second], RULES)
    assert [c.status for c in first.cells.values()] == [c.status for c in second.cells.values()]
    assert first.cells[("a", "x")].status == "primary"


def test_bad_contributions_are_refused() -> None:
    with pytest.raises(InputError, match="expected a number ≥ 0"):
        Table.build(["r"], [(("a",), "f", -1.0)])
    with pytest.raises(InputError, match="reserved"):
        Table.build(["r"], [((TOTAL,), "f", 1.0)])


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "pilotline"), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_disclosure_contract(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    lines = ["row,col,firm,value"]
    rng = random.Random(11)
    for i in range(40):
        lines.append(f"R{i % 4},C{rng.randrange(3)},f{i},{rng.randint(1, 50)}")
    lines.append("R0,C0,whale,900")
    csv.write_text("\n".join(lines) + "\n")
    res = run_cli("hub", "disclosure", str(csv), "--min-firms", "4", "--nk", "2,80", "--p", "15",
                  "--format", "json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    cells = json.loads(res.stdout)
    assert len(cells) == 5 * 4
    by = {(c["row"], c["col"]): c for c in cells}
    assert by[("R0", "C0")]["status"] == "primary" and "p" in by[("R0", "C0")]["rules"]
    assert by[(TOTAL, TOTAL)]["value"] == sum(float(x.split(",")[3]) for x in lines[1:])
    assert {c["status"] for c in cells} <= {"published", "primary", "secondary"}
    for c in cells:
        assert set(c) == {"row", "col", "firms", "value", "status", "rules"}
        assert (c["status"] == "primary") == bool(c["rules"])
        if c["firms"] and c["firms"] < 4:
            assert "min_firms" in c["rules"]


def test_the_disclosure_contract_refuses_bad_files(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("row,col,firm,value\nA,X,f1,12\nA,Y,f2,-3\n")
    res = CliRunner().invoke(app, ["hub", "disclosure", str(csv), "--format", "json"])
    assert isinstance(res.exception, InputError)  # main() shows it as a message, exit 1
    assert "line 3, column 'value'" in str(res.exception)
    csv.write_text("row,column,firm,value\n")
    res = CliRunner().invoke(app, ["hub", "disclosure", str(csv)])
    assert "missing column(s) col" in str(res.exception)
    res = CliRunner().invoke(app, ["hub", "disclosure", str(csv), "--nk", "2"])
    assert "--nk '2': expected N,K" in str(res.exception)


def test_an_unbounded_maximum_the_solver_calls_infeasible_is_asked_again() -> None:
    """A table recorded from the demo region after a withdrawal (see its note): HiGHS called the
    maximum of one suppressed cell infeasible, and the release failed its audit; the cell is
    unbounded above, as SciPy's solver confirms with the cell capped."""
    case = json.loads(
        (Path(__file__).parent / "data/highs_unbounded_as_infeasible.json").read_text()
    )
    cells = {tuple(k): Cell(tuple(k), firms, value, [], status)
             for k, firms, value, status in case["cells"]}  # fmt: skip
    table = Table(case["dims"], cells, case["levels"])
    intervals = audit(table, only_primary=True)
    key = ("Total", "medium", "Total")
    low, high = intervals[key]
    assert low <= cells[key].value and high == float("inf")
    sup = [j for j, k in enumerate(table.keys) if cells[k].suppressed]
    pub = [j for j, k in enumerate(table.keys) if not cells[k].suppressed]
    rel = table.relations().toarray()
    a = table.values()
    cap = 10 * a.sum()
    bounds = [(0, cap if table.keys[j] == key else None) for j in sup]
    c = np.array([-1.0 if table.keys[j] == key else 0.0 for j in sup])
    best = linprog(c, A_eq=rel[:, sup], b_eq=-rel[:, pub] @ a[pub], bounds=bounds, method="highs")
    assert best.status == 0 and -best.fun == pytest.approx(cap)  # reaches any cap: unbounded
