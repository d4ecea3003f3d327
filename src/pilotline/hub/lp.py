"""Linear programs kept in HiGHS between solves: the suppression and audit programs differ only in
an objective or a few bounds from one solve to the next, so each re-solve starts from the last
basis (warm start) instead of from scratch. ``highspy`` is imported only here."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import numpy as np
from scipy import sparse

_first = threading.Lock()
_made = False


def _highs() -> Any:
    """A silent HiGHS instance. The first one made in a process prints HiGHS's banner straight to
    file descriptor 1, which would break JSON output: it is sent to /dev/null."""
    global _made
    import highspy

    with _first:
        if not _made:
            sys.stdout.flush()
            saved = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
                h = highspy.Highs()  # type: ignore[no-untyped-call]
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(devnull)
            _made = True
        else:
            h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    # Small programs solved again and again: presolve would throw the last basis away.
    h.setOptionValue("presolve", "off")
    h.setOptionValue("simplex_strategy", 4)  # primal: re-solves after a new objective are quick
    return h


class Lp:
    """``min cost·x`` subject to ``A x = b`` and ``lower ≤ x ≤ upper`` (``inf`` for no bound)."""

    def __init__(
        self,
        a_eq: sparse.spmatrix,
        b_eq: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        cost: np.ndarray,
    ) -> None:
        import highspy

        self._hs = highspy
        a = sparse.csc_matrix(a_eq)
        rows, cols = a.shape
        self.n = cols
        inf = highspy.kHighsInf
        lp = highspy.HighsLp()
        lp.num_col_ = cols
        lp.num_row_ = rows
        lp.col_cost_ = np.asarray(cost, dtype=float)
        lp.col_lower_ = np.where(np.isinf(lower), -inf, lower).astype(float)
        lp.col_upper_ = np.where(np.isinf(upper), inf, upper).astype(float)
        lp.row_lower_ = np.asarray(b_eq, dtype=float)
        lp.row_upper_ = np.asarray(b_eq, dtype=float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = cols
        lp.a_matrix_.num_row_ = rows
        lp.a_matrix_.start_ = a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a.indices.astype(np.int32)
        lp.a_matrix_.value_ = a.data.astype(float)
        self._h = _highs()
        self._h.passModel(lp)

    def set_cost(self, index: np.ndarray | list[int], values: np.ndarray | list[float]) -> None:
        idx = np.asarray(index, dtype=np.int32)
        if idx.size:
            self._h.changeColsCost(idx.size, idx, np.asarray(values, dtype=float))

    def set_bounds(
        self, index: np.ndarray | list[int], lower: np.ndarray | list[float], upper: Any
    ) -> None:
        idx = np.asarray(index, dtype=np.int32)
        if idx.size:
            up = np.where(np.isinf(upper), self._hs.kHighsInf, upper).astype(float)
            self._h.changeColsBounds(idx.size, idx, np.asarray(lower, dtype=float), up)

    def solve(self) -> tuple[str, np.ndarray, float]:
        """("optimal" | "unbounded" | "infeasible" | other, x, objective). The programs solved
        here are always feasible; when a warm-started solve says otherwise (it happens, rarely,
        after many changes), it is solved again from scratch, then with presolve, before the
        answer is believed."""
        first = self._run()
        if first[0] in ("optimal", "unbounded"):
            return first
        self._h.clearSolver()  # forget the basis
        again = self._run()
        if again[0] in ("optimal", "unbounded"):
            return again
        fresh = _highs()
        fresh.setOptionValue("presolve", "on")
        fresh.setOptionValue("simplex_strategy", 1)
        fresh.passModel(self._h.getLp())
        self._h, kept = fresh, self._h
        try:
            return self._run()
        finally:
            self._h = kept
            self._h.passModel(fresh.getLp())

    def _run(self) -> tuple[str, np.ndarray, float]:
        self._h.run()
        status = self._h.getModelStatus()
        ms = self._hs.HighsModelStatus
        if status == ms.kOptimal:
            x = np.asarray(self._h.getSolution().col_value, dtype=float)
            return "optimal", x, float(self._h.getInfo().objective_function_value)
        name = {ms.kUnbounded: "unbounded", ms.kInfeasible: "infeasible"}.get(status)
        if status == ms.kUnboundedOrInfeasible:
            name = "unbounded"  # these programs are always feasible (the true table is a solution)
        return name or str(status), np.zeros(self.n), float("nan")
