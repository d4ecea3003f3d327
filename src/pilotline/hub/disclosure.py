"""Statistical disclosure control for the hub's published tables.

A :class:`Table` is a d-way table of sums with every margin (``Total`` on any subset of the
dimensions). Its cells are built from contributions ``(cell, firm, value)``; several plants of one
firm are summed first, so a firm is one contributor.

1. **Primary suppression** (:func:`primary`): a non-empty cell is unsafe when it has fewer than
   ``min_firms`` firms, when its ``n`` largest contributions exceed ``k`` % of its total
   ((n,k) dominance), or when ``X − x1 − x2 < p/100 · x1`` (p % rule).
2. **Secondary suppression** (:func:`protect`): for every primary cell and both directions, a
   linear program finds the cheapest deviation pattern — a vector ``d`` with every margin relation
   still adding up, no cell going below zero, and the primary cell moved by its protection level —
   and suppresses the cells it runs through. Because ``true values + d`` is then a table an attacker
   cannot tell from the true one, the primary cell's feasible interval reaches at least the
   protection level on that side. Cells already suppressed cost nothing, so patterns are shared.
3. **Audit** (:func:`audit`): the attacker's own linear programs, ``min`` and ``max`` of each
   suppressed cell given every published cell and that no value is negative (HiGHS, warm-started
   between solves: :mod:`pilotline.hub.lp`). A
   release is published only if every primary cell's interval is wide enough.

Empty cells (no firm) are structural zeros: published, never used to hide another cell. The lower
protection of a cell smaller than its protection level is the cell's value (nothing is below zero).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from pilotline.errors import InputError, PilotlineError
from pilotline.hub.lp import Lp

TOTAL = "Total"


class AuditFailed(PilotlineError):
    """A suppressed cell could still be worked out from what would be published: nothing is
    released. (Secondary suppression is built to prevent this; seeing it means a bug or a solver
    failure: report it with the inputs.)"""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            "the disclosure audit failed, so nothing was released: a suppressed cell could be "
            f"worked out from the published ones ({detail}). Please report this with the inputs."
        )

    def __reduce__(self) -> tuple[type[AuditFailed], tuple[str]]:
        # from a worker process it arrives as it left (not wrapped in its own message again)
        return (AuditFailed, (self.detail,))


Key = tuple[str, ...]


@dataclass(frozen=True)
class Rules:
    """The coordinator's disclosure settings (not shown to firms)."""

    min_firms: int = 3
    n: int = 2
    k: float = 85.0
    p: float = 10.0
    #: Protection, in % of the cell's value, for a cell failing only frequency or dominance.
    protect_pct: float = 10.0

    def __post_init__(self) -> None:
        if self.min_firms < 1:
            raise InputError(f"minimum firms per cell {self.min_firms}: expected 1 or more")
        if self.n < 1:
            raise InputError(f"(n,k) rule: n = {self.n}, expected 1 or more")
        if not 0 < self.k <= 100:
            raise InputError(f"(n,k) rule: k = {self.k}, expected a percentage above 0, up to 100")
        if not 0 <= self.p <= 100:
            raise InputError(f"p % rule: p = {self.p}, expected a percentage from 0 to 100")
        if not 0 <= self.protect_pct <= 100:
            raise InputError(f"protection {self.protect_pct} %: expected 0 to 100")


@dataclass
class Cell:
    key: Key
    firms: int
    value: float
    #: Firm contributions, largest first (kept only as many as the rules need).
    top: list[float]
    status: str = "published"  # published | primary | secondary
    rules: list[str] = field(default_factory=list)
    upper: float = 0.0  # protection wanted above the value
    lower: float = 0.0  # and below it

    @property
    def suppressed(self) -> bool:
        return self.status != "published"


class Table:
    """A d-way table of sums with all its margins, built from firm contributions."""

    def __init__(self, dims: Sequence[str], cells: dict[Key, Cell], levels: list[list[str]]):
        self.dims = list(dims)
        self.cells = cells
        self.levels = levels  # categories per dimension, without Total
        self.keys = list(cells)
        self.index = {k: i for i, k in enumerate(self.keys)}
        self._relations: sparse.csr_matrix | None = None

    @classmethod
    def build(
        cls,
        dims: Sequence[str],
        contributions: Iterable[tuple[Key, str, float]],
        *,
        keep_top: int = 2,
    ) -> Table:
        """Contributions ``(cell key without totals, firm, value ≥ 0)`` → the full table."""
        d = len(dims)
        per_firm: dict[Key, dict[str, float]] = {}
        for key, firm, value in contributions:
            if len(key) != d:
                raise InputError(f"cell {key!r}: expected {d} categories ({', '.join(dims)})")
            if TOTAL in key:
                raise InputError(f"cell {key!r}: '{TOTAL}' is reserved for the margins")
            if not math.isfinite(value) or value < 0:
                raise InputError(
                    f"cell {key!r}, firm {firm!r}: value {value} — expected a number ≥ 0"
                )
            for margin in _margins(key):
                firms = per_firm.setdefault(margin, {})
                firms[firm] = firms.get(firm, 0.0) + value
        levels = [sorted({k[j] for k in per_firm if k[j] != TOTAL}, key=_natural) for j in range(d)]
        cells: dict[Key, Cell] = {}
        for key in itertools.product(*[[*lv, TOTAL] for lv in levels]):
            values = sorted(per_firm.get(key, {}).values(), reverse=True)
            cells[key] = Cell(key, len(values), float(sum(values)), values[: max(2, keep_top)])
        return cls(dims, cells, levels)

    def relations(self) -> sparse.csr_matrix:
        """One row per margin relation: margin − Σ its children = 0."""
        if self._relations is None:
            rows, cols, vals = [], [], []
            r = 0
            for key in self.keys:
                for j, part in enumerate(key):
                    if part != TOTAL:
                        continue
                    rows.append(r)
                    cols.append(self.index[key])
                    vals.append(1.0)
                    for level in self.levels[j]:
                        child = (*key[:j], level, *key[j + 1 :])
                        rows.append(r)
                        cols.append(self.index[child])
                        vals.append(-1.0)
                    r += 1
            self._relations = sparse.csr_matrix(
                (vals, (rows, cols)), shape=(r, len(self.keys)), dtype=float
            )
        return self._relations

    def values(self) -> np.ndarray:
        return np.array([self.cells[k].value for k in self.keys])


def _margins(key: Key) -> Iterable[Key]:
    for mask in itertools.product((False, True), repeat=len(key)):
        yield tuple(TOTAL if m else part for part, m in zip(key, mask, strict=True))


def _natural(text: str) -> tuple[int, float | str]:
    try:
        return (0, float(text))
    except ValueError:
        return (1, text)


# -- primary -------------------------------------------------------------------------------------


def primary_rules(cell: Cell, rules: Rules) -> list[str]:
    """The primary rules a cell fails (an empty cell fails none)."""
    if cell.firms == 0:
        return []
    failed = []
    if cell.firms < rules.min_firms:
        failed.append("min_firms")
    x = cell.value
    if x > 0 and sum(cell.top[: rules.n]) > rules.k / 100 * x:
        failed.append("nk")
    x1 = cell.top[0] if cell.top else 0.0
    x2 = cell.top[1] if len(cell.top) > 1 else 0.0
    if x - x1 - x2 < rules.p / 100 * x1:
        failed.append("p")
    return failed


def protection(cell: Cell, rules: Rules) -> float:
    """How far the interval must reach on each side of a primary cell's value."""
    if "p" in cell.rules:
        return rules.p / 100 * cell.top[0]
    return rules.protect_pct / 100 * cell.value


def primary(table: Table, rules: Rules) -> list[Key]:
    """Mark (and return) the primary-unsafe cells, with their protection levels."""
    unsafe = [k for k, c in table.cells.items() if c.status == "primary"]  # marked beforehand
    for key, cell in table.cells.items():
        failed = primary_rules(cell, rules)
        if failed:
            cell.status = "primary"
            cell.rules = failed + [r for r in cell.rules if r not in failed]
            level = protection(cell, rules)
            cell.upper = max(cell.upper, level)
            cell.lower = max(cell.lower, min(level, cell.value))
            if key not in unsafe:
                unsafe.append(key)
    return unsafe


# -- secondary -----------------------------------------------------------------------------------


def _cost(table: Table, i: int) -> float:
    """Cost per unit of deviation through a cell: margins (more Total parts) cost more."""
    return 1.0 + 2.0 * sum(part == TOTAL for part in table.keys[i])


def protect(table: Table, *, also: Sequence[Table] = ()) -> list[Key]:
    """Secondary suppression: suppress cells until every primary cell is protected, in ``table``
    and in the tables of ``also`` (other measures over the same cells, which share one pattern).
    Returns the keys newly suppressed."""
    tables = [table, *also]
    for t in also:
        if t.keys != table.keys:
            raise ValueError("tables sharing a suppression pattern must have the same cells")
        for key, cell in t.cells.items():  # one pattern across the measures
            if cell.status == "primary" and table.cells[key].status == "published":
                table.cells[key].status = "primary"
    for t in tables:
        for key, cell in t.cells.items():
            if table.cells[key].suppressed and cell.status == "published":
                cell.status = table.cells[key].status
    added: list[Key] = []
    for t in tables:
        wanted = [
            (t.index[key], direction, amount)
            for key, cell in t.cells.items()
            if cell.status == "primary"
            for direction, amount in ((1, cell.upper), (-1, cell.lower))
            if amount > 0
        ]
        if not wanted:
            continue
        program = _Protection(t)
        for i, direction, amount in wanted:
            for new in program.cells_to_hide(i, direction, amount):
                k = t.keys[new]
                if table.cells[k].status == "published":
                    added.append(k)
                for tt in tables:
                    if tt.cells[k].status == "published":
                        tt.cells[k].status = "secondary"
    return added


class _Protection:
    """The protection program of one table: variables d+ and d- per cell, ``A (d+ − d-) = 0``,
    ``d- ≤ value`` (nothing below zero), empty cells fixed, cost per unit of deviation through a
    published cell (nothing through a hidden one)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        m = len(table.keys)
        self.m = m
        a = table.values()
        usable = np.array(
            [table.cells[k].suppressed or table.cells[k].firms > 0 for k in table.keys]
        )
        rel = table.relations()
        upper = np.concatenate([np.where(usable, np.inf, 0.0), np.where(usable, a, 0.0)])
        self.upper = upper
        self.hidden = np.array([table.cells[k].suppressed for k in table.keys])
        cost = self._cost()
        self.lp = Lp(
            sparse.hstack([rel, -rel]),
            np.zeros(rel.shape[0]),
            np.zeros(2 * m),
            upper,
            np.concatenate([cost, cost]),
        )

    def _cost(self) -> np.ndarray:
        return np.array([0.0 if self.hidden[j] else _cost(self.table, j) for j in range(self.m)])

    def cells_to_hide(self, i: int, direction: int, amount: float) -> list[int]:
        t, m = self.table, self.m
        now_hidden = np.array([t.cells[k].suppressed for k in t.keys])
        changed = np.flatnonzero(now_hidden & ~self.hidden)
        if changed.size:
            self.hidden = now_hidden
            both = np.concatenate([changed, changed + m])
            self.lp.set_cost(both, np.zeros(both.size))
        moved, still = (i, i + m) if direction > 0 else (i + m, i)
        # a hair more than asked, so that the audit's solver tolerances never fall short of it
        if direction > 0:
            amount = amount * (1 + 1e-6) + 1e-9
        else:
            amount = min(amount * (1 + 1e-6) + 1e-9, self.upper[moved])
        self.lp.set_bounds([moved, still], [amount, 0.0], np.array([amount, 0.0]))
        status, x, _obj = self.lp.solve()
        self.lp.set_bounds([moved, still], [0.0, 0.0], self.upper[[moved, still]])
        if status != "optimal":  # cannot happen with margins present; say so plainly if it does
            raise InputError(f"cell {t.keys[i]!r} cannot be protected in this table ({status})")
        dev = x[:m] + x[m:]
        tol = 1e-9 * max(1.0, amount)
        return [int(j) for j in np.flatnonzero(dev > tol) if not self.hidden[j]]


def audit(table: Table, *, only_primary: bool = False) -> dict[Key, tuple[float, float]]:
    """The attacker's view: each suppressed cell's feasible interval given every published cell,
    the margin relations and that no value is negative (``only_primary``: primary cells only)."""
    sup = [j for j, k in enumerate(table.keys) if table.cells[k].suppressed]
    if not sup:
        return {}
    a = table.values()
    rel = table.relations().tocsc()
    pub = np.array([not table.cells[k].suppressed for k in table.keys])
    a_eq = rel[:, sup]
    b_eq = -(rel[:, np.flatnonzero(pub)] @ a[pub])
    used = np.asarray(abs(a_eq).sum(axis=1)).ravel() > 0
    a_eq, b_eq = a_eq[used], b_eq[used]
    n = len(sup)
    lp = Lp(a_eq, b_eq, np.zeros(n), np.full(n, np.inf), np.zeros(n))
    #: Far above any value a cell bounded by the published cells can take (every cell is at most
    #: the sum of the table): a maximum that reaches it is unbounded.
    cap = 2.0 * float(np.abs(a).sum()) + 1.0
    out: dict[Key, tuple[float, float]] = {}
    last: int | None = None
    for pos, j in enumerate(sup):
        key = table.keys[j]
        if only_primary and table.cells[key].status != "primary":
            continue
        if last is not None:
            lp.set_cost([last], [0.0])
        last = pos
        lp.set_cost([pos], [1.0])
        st_lo, _x, low = lp.solve()
        lp.set_cost([pos], [-1.0])
        st_hi, _x, neg_high = lp.solve()
        if st_lo == "optimal" and st_hi not in ("optimal", "unbounded"):
            # HiGHS can call an unbounded maximum "infeasible" (seen on a 120-firm region after a
            # withdrawal, from scratch and with presolve too), though the minimum just showed the
            # program feasible: ask again with the cell capped far above any bounded value.
            lp.set_bounds([pos], [0.0], np.array([cap]))
            st_hi, _x, neg_high = lp.solve()
            lp.set_bounds([pos], [0.0], np.array([np.inf]))
            if st_hi == "optimal" and -neg_high >= cap * (1 - 1e-9):
                st_hi = "unbounded"
        # the true table is a solution, and nothing is below zero: the minimum always exists;
        # only the maximum may be unbounded. Any other answer is a solver failure, never a pass.
        if st_lo != "optimal" or st_hi not in ("optimal", "unbounded"):
            raise AuditFailed(
                f"the solver could not bound cell {' × '.join(key)} ({st_lo}, {st_hi})"
            )
        out[key] = (low, -neg_high if st_hi == "optimal" else math.inf)
    return out


def audit_failures(table: Table, intervals: dict[Key, tuple[float, float]]) -> list[str]:
    """Primary cells whose interval is narrower than their protection (empty when safe)."""
    bad = []
    for key, (low, high) in intervals.items():
        cell = table.cells[key]
        if cell.status != "primary":
            continue
        tol = 1e-7 * max(1.0, abs(cell.value))
        if high < cell.value + cell.upper - tol or low > cell.value - cell.lower + tol:
            bad.append(
                f"{' × '.join(key)}: interval [{low:g}, {high:g}] around {cell.value:g} "
                f"is narrower than ±{cell.upper:g}"
            )
    return bad


def suppress(tables: Sequence[Table], rules: Rules) -> None:
    """Primary rules, then secondary suppression on one shared pattern, then the LP audit; raises
    if any primary cell of any table stays recoverable (a bug, not an input problem)."""
    if not tables:
        return
    for t in tables:
        primary(t, rules)
    protect(tables[0], also=tables[1:])
    for t in tables:
        bad = audit_failures(t, audit(t, only_primary=True))
        if bad:
            raise AuditFailed("; ".join(bad[:5]))


# -- the two-way table of the contract -----------------------------------------------------------


def read_two_way(path_name: str, text: str) -> list[tuple[Key, str, float]]:
    """``row, col, firm, value`` lines → contributions; every problem names its line."""
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text))
    need = ["row", "col", "firm", "value"]
    missing = [c for c in need if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(
            f"{path_name}: missing column(s) {', '.join(missing)}; expected columns "
            "row, col, firm, value"
        )
    out: list[tuple[Key, str, float]] = []
    for line, rec in enumerate(reader, start=2):
        row, col, firm = (rec["row"] or "").strip(), (rec["col"] or "").strip(), rec["firm"] or ""
        if not row or not col or not firm.strip():
            raise InputError(f"{path_name}, line {line}: row, col and firm must not be empty")
        try:
            value = float(rec["value"])
        except (TypeError, ValueError):
            raise InputError(
                f"{path_name}, line {line}, column 'value': {rec['value']!r} is not a number"
            ) from None
        if not math.isfinite(value) or value < 0:
            raise InputError(
                f"{path_name}, line {line}, column 'value': {rec['value']} — expected a number ≥ 0"
            )
        if TOTAL in (row, col):
            raise InputError(f"{path_name}, line {line}: '{TOTAL}' is reserved for the margins")
        out.append(((row, col), firm.strip(), value))
    return out


def disclose(table: Table) -> list[dict[str, object]]:
    """The coordinator's view of a suppressed table, one record per cell (two-way keys)."""
    return [
        {
            "row": c.key[0],
            "col": c.key[1] if len(c.key) > 1 else TOTAL,
            "firms": c.firms,
            "value": c.value,
            "status": c.status,
            "rules": list(c.rules),
        }
        for c in table.cells.values()
    ]
