"""The optional pm4py extra (``pip install 'pilotline[pm4py]'``): Petri-net discovery with the
inductive miner, and alignments against a Petri net (PNML) or BPMN model.

pm4py is AGPL-licensed, so it is never a core dependency: this is the only module that imports
it, and only when one of these functions is called. Every run happens in a child process that is
stopped at its time limit, so no alignment can hang the caller.
"""

from __future__ import annotations

import multiprocessing as mp
import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa

from pilotline.errors import InputError, PilotlineError, TimeLimitExceeded
from pilotline.map.log import EventLog

INSTALL = "This needs the pm4py extra: pip install 'pilotline[pm4py]' (pm4py is AGPL-licensed)."


def available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("pm4py") is not None
    except ValueError:
        return False


def _frame(log: EventLog) -> Any:
    events = log.events.sort_by([("seq", "ascending")]).select(["case", "activity", "ts"])
    events = events.cast(
        pa.schema(
            [
                ("case", pa.string()),
                ("activity", pa.string()),
                ("ts", events.schema.field("ts").type),
            ]
        )
    )
    df = events.to_pandas()
    df.columns = ["case:concept:name", "concept:name", "time:timestamp"]
    return df


def _load_model(pm4py: Any, path: Path) -> tuple[Any, Any, Any]:
    suffix = path.suffix.lower()
    if suffix == ".pnml":
        return pm4py.read_pnml(str(path))  # type: ignore[no-any-return]
    if suffix == ".bpmn":
        return pm4py.convert_to_petri_net(pm4py.read_bpmn(str(path)))  # type: ignore[no-any-return]
    raise InputError(f"{path}: expected a Petri net (.pnml) or a BPMN model (.bpmn)")


def _work(task: str, frame: Any, model: str | None, out: str | None, queue: Any) -> None:
    import os

    os.environ["TQDM_DISABLE"] = "1"  # no progress bars from inside pm4py
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pm4py

            if task == "discover":
                net, im, fm = pm4py.discover_petri_net_inductive(frame)
                if out:
                    pm4py.write_pnml(net, im, fm, out)
                queue.put(
                    {
                        "places": len(net.places),
                        "transitions": len(net.transitions),
                        "fitness": pm4py.fitness_alignments(frame, net, im, fm),
                    }
                )
            else:
                assert model is not None
                net, im, fm = _load_model(pm4py, Path(model))
                diag = pm4py.conformance_diagnostics_alignments(
                    frame, net, im, fm, return_diagnostics_dataframe=True
                )
                fitness = [float(f) for f in diag["fitness"]]
                queue.put(
                    {
                        "per_case": [
                            {"case": str(c), "fitness": f}
                            for c, f in zip(diag["case_id"], fitness, strict=True)
                        ],
                        "mean_fitness": sum(fitness) / max(len(fitness), 1),
                        "fitting_cases": sum(1 for f in fitness if f == 1.0),
                        "cases": len(fitness),
                    }
                )
    except Exception as exc:  # reported to the parent as a message, never a hang
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def _run(
    task: str,
    log: EventLog,
    *,
    model: Path | None = None,
    out: Path | None = None,
    time_limit_s: float = 60.0,
) -> dict[str, Any]:
    if not available():
        raise PilotlineError(INSTALL)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(
        target=_work,
        args=(task, _frame(log), str(model) if model else None, str(out) if out else None, queue),
    )
    proc.start()
    proc.join(time_limit_s)
    if proc.is_alive():
        proc.kill()
        proc.join()
        raise TimeLimitExceeded(
            f"pm4py stopped after the time limit of {time_limit_s:g} s; filter the log "
            "(e.g. --top-variants) or raise --time-limit"
        )
    result: dict[str, Any] = (
        queue.get() if not queue.empty() else {"error": f"pm4py exited with code {proc.exitcode}"}
    )
    if "error" in result:
        raise PilotlineError(f"pm4py could not finish: {result['error']}")
    return result


def discover(
    log: EventLog, *, pnml: Path | None = None, time_limit_s: float = 60.0
) -> dict[str, Any]:
    """Inductive miner: a Petri net (written to ``pnml``) and its alignment fitness on the log."""
    return _run("discover", log, out=pnml, time_limit_s=time_limit_s)


def align(log: EventLog, model: Path, *, time_limit_s: float = 60.0) -> dict[str, Any]:
    """Alignment fitness per case against a Petri net (.pnml) or BPMN model (.bpmn)."""
    if not model.exists():
        raise InputError(f"{model}: no such model file")
    if model.suffix.lower() not in (".pnml", ".bpmn"):
        raise InputError(f"{model}: expected a Petri net (.pnml) or a BPMN model (.bpmn)")
    return _run("align", log, model=model, time_limit_s=time_limit_s)
