"""Process maps in the web app: upload an event log (an ERP export), see a readable map of it at
once (the most frequent activities and paths, chosen so it fits, as in Disco) with activity and
path sliders, zoom into it and click an activity or a path for its cases and variants; check it
against an intended route and see the cases that do not follow it; delete it.

Logs are kept in ``<home>/logs/<id>/``: the file as ``log/<its name>`` and, beside that folder, a
``meta.json`` saying which columns hold what (no uploaded name can reach it) and the last check
against a model as ``conformance.json``. A log is read and checked when it is uploaded (the same
messages as ``pilotline map``), within :data:`UPLOAD_TIME_LIMIT_S` and with a ``.xes.gz``
unpacking to at most :data:`UNPACK_FACTOR` times the upload limit; it is read once more when its
map is first opened, and each setting of the activity slider is analysed once and kept in memory
for an hour. Times on the page are medians unless the statistic chosen on the page says otherwise,
the same one everywhere on it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pilotline import clock
from pilotline.errors import InputError, TimeLimitExceeded
from pilotline.map import LogColumns, Miner, filters, read_log, simplify
from pilotline.map.conformance import load_routing
from pilotline.map.drill import CaseIndex, cases_csv, cell, drill, statistic_of
from pilotline.map.petri import read_pnml
from pilotline.map.render import STATISTICS, map_dot, render_svg
from pilotline.store import audit
from pilotline.web.cache import Cache
from pilotline.web.context import Problem, Web
from pilotline.web.data import file_name, receive, refused
from pilotline.web.schemas import (
    CasesBehind,
    Conformance,
    EventLogInfo,
    LogSummary,
    ProcessMap,
)
from pilotline.web.users import User

#: An upload is read and summarised within this many seconds, or refused: one upload cannot hold
#: the server's workers (a log that needs longer is mapped with ``pilotline map`` on the server).
UPLOAD_TIME_LIMIT_S = 60.0
#: A compressed log (.xes.gz) may unpack to at most this many times the upload limit.
UNPACK_FACTOR = 10
LOG_SUFFIXES = (".csv", ".txt", ".parquet", ".xes", ".xes.gz", ".json", ".xml", ".sqlite")
LOG_TYPES = "a CSV, Parquet, XES (.xes, .xes.gz) or OCEL 2.0 (.json, .xml, .sqlite) event log"
_ID = re.compile(r"^[0-9a-f]{16}$")


def _meta(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / "meta.json").read_text()))


#: A check against a model is shown green when at least this share of cases follow it, amber
#: from :data:`FOLLOW_WARN`, red below.
FOLLOW_GOOD = 0.95
FOLLOW_WARN = 0.8
#: How many failing cases a check answers with (the CSV download has them all).
FAILING_SHOWN = 200
Stat = Literal["median", "mean", "max", "total"]


def verdict(share: float | None) -> str:
    """``good``, ``warn`` or ``bad``: how a share of cases following a model is coloured."""
    if share is None or share < FOLLOW_WARN:
        return "bad"
    return "good" if share >= FOLLOW_GOOD else "warn"


class Logs:
    """The uploaded event logs; one analysed view of each per activity-slider setting."""

    def __init__(self, web: Web) -> None:
        self.web = web
        self.root = web.home / "logs"
        self.views = Cache(ttl_s=3600.0, max_keys=32)
        self.svgs = Cache(ttl_s=3600.0, max_keys=256)
        self.bases = Cache(ttl_s=3600.0, max_keys=8)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def folder(self, log_id: str) -> Path:
        if not _ID.match(log_id) or not (self.root / log_id / "meta.json").exists():
            raise Problem(
                404,
                "Not found",
                f"no event log with id {log_id[:40]!r}: it may have been deleted; "
                "the logs kept are listed on the process maps page",
            )
        return self.root / log_id

    def all(self) -> list[dict[str, Any]]:
        if not self.root.exists():
            return []
        found = [_meta(f) for f in self.root.iterdir() if (f / "meta.json").exists()]
        return sorted(found, key=lambda m: m["uploaded_at"], reverse=True)

    def lock(self, log_id: str) -> threading.Lock:
        """One analysis of a log at a time: its views share one engine connection."""
        with self._guard:
            return self._locks.setdefault(log_id, threading.Lock())

    def check(
        self, path: Path, meta: dict[str, Any], *, max_xml_bytes: int
    ) -> tuple[dict[str, Any], Miner]:
        """Read and summarise an uploaded log within :data:`UPLOAD_TIME_LIMIT_S`: the readers
        are stopped between chunks, the engine's query is interrupted. Returns the summary and
        the log's miner."""
        seconds = UPLOAD_TIME_LIMIT_S
        deadline = time.monotonic() + seconds
        too_slow = TimeLimitExceeded(f"reading it took longer than {seconds:g} s")

        def progress(done: int, total: int) -> None:
            if time.monotonic() > deadline:
                raise too_slow

        miner = self.read(path, meta, progress=progress, max_xml_bytes=max_xml_bytes)
        left = deadline - time.monotonic()
        if left <= 0:
            raise too_slow
        stopped = threading.Event()

        def stop() -> None:
            stopped.set()
            miner.interrupt()

        timer = threading.Timer(left, stop)
        timer.start()
        try:
            return miner.summary(), miner
        except Exception:
            if stopped.is_set():
                raise too_slow from None
            raise
        finally:
            timer.cancel()

    def read(
        self,
        path: Path,
        meta: dict[str, Any],
        *,
        progress: Callable[[int, int], None] | None = None,
        max_xml_bytes: int | None = None,
    ) -> Miner:
        c = meta["columns"]
        columns = LogColumns(
            case=c["case"],
            activity=c["activity"],
            timestamp=c["timestamp"],
            resource=c.get("resource"),
            timestamp_format=c.get("timestamp_format"),
        )
        log = read_log(
            path,
            columns,
            tz=self.web.plant().tz,
            object_type=c.get("object_type") or None,
            progress=progress,
            max_xml_bytes=max_xml_bytes,
        )
        return Miner(log)

    def base(self, log_id: str) -> dict[str, Any]:
        """The whole log read once: the log, its activities' event counts and case durations.
        Each view gets a miner of its own on it (an engine connection scanning the same Arrow
        table), so a view's tables go with the view when it leaves the cache."""
        folder = self.folder(log_id)

        def compute() -> dict[str, Any]:
            meta = _meta(folder)
            return self.first_look(meta, self.read(folder / meta["file"], meta))

        with self.lock(log_id):
            return dict(self.bases.get(log_id, compute))

    def first_look(self, meta: dict[str, Any], miner: Miner) -> dict[str, Any]:
        """What :meth:`base` keeps of a log read: the log, activity counts, case durations."""
        counts = {a["activity"]: a["events"] for a in miner.activities()}
        durations = [c["duration_s"] for c in miner.cases()]
        return {"meta": meta, "log": miner.log, "counts": counts, "durations": durations}

    def keep(self, log_id: str, meta: dict[str, Any], miner: Miner) -> None:
        """Keep a log just read at its upload, so its map opens without reading it again."""
        look = self.first_look(meta, miner)
        with self.lock(log_id):
            self.bases.get(log_id, lambda: look)

    def default_activities(self, log_id: str) -> int:
        """The activity slider of the readable default map."""
        return simplify.default_activities(self.base(log_id)["counts"])

    def view(self, log_id: str, activities: int) -> dict[str, Any]:
        """Summary, map data, variants, loops and readiness with the ``activities`` per cent most
        frequent activities kept (the others' events dropped, so steps bridge over them), the
        cases behind them (to click into) and the path slider of the readable default."""
        self.folder(log_id)
        base = self.base(log_id)

        def compute() -> dict[str, Any]:
            with self.lock(log_id):
                miner = Miner(base["log"])
                counts = base["counts"]
                ranked = sorted(counts, key=lambda a: (-counts[a], a))
                n = simplify.kept(len(ranked), activities)
                if n < len(ranked):
                    miner = miner.where(filters.activities, keep=ranked[:n])
                summary = miner.summary()
                index = CaseIndex.of(miner)
                shown = {a: counts[a] for a in ranked[:n]}
                paths = simplify.steps(
                    summary["dfg"], summary["start_activities"], summary["end_activities"]
                )
                return {
                    "meta": base["meta"],
                    "summary": summary,
                    "paths": paths,
                    "default_paths": simplify.default_paths(paths, shown),
                    "activity_counts": shown,
                    "all_activities": len(ranked),
                    "index": index,
                    "variants": index.variants[:15],
                    "loopbacks": miner.loopbacks()[:15],
                    "automation": miner.automation(),
                }

        return dict(self.views.get((log_id, activities), compute))

    def drawing(self, log_id: str, activities: int, paths: int) -> dict[str, Any]:
        """The paths of the map at these slider settings, and notes on activities left out."""
        v = self.view(log_id, activities)
        kept, notes = simplify.keep_paths(v["paths"], paths / 100, v["activity_counts"])
        shown = {a: n for a, n in v["activity_counts"].items() if a not in _left_out(notes)}
        wanted = max(1, round(v["all_activities"] * activities / 100))
        if wanted > len(v["activity_counts"]):
            notes = [
                f"Only the {simplify.MAX_DRAWN} most frequent of the {wanted:,} activities this "
                "setting asks for are drawn: a map of more cannot be read (filter the log "
                "first to see others).",
                *notes,
            ]
        return {"paths": kept, "activities": shown, "notes": notes}

    def svg(self, log_id: str, activities: int, paths: int, metric: str, statistic: Stat) -> str:
        self.folder(log_id)  # a deleted log's cached maps are not served

        def draw() -> str:
            d = self.drawing(log_id, activities, paths)
            return render_svg(
                map_dot(
                    d["paths"],
                    d["activities"],
                    metric="time" if metric == "time" else "frequency",
                    statistic=statistic,
                )
            )

        return str(self.svgs.get((log_id, activities, paths, metric, statistic), draw))

    def drill(
        self, log_id: str, activities: int, statistic: Stat, **what: str | None
    ) -> dict[str, Any]:
        """The cases and variants of an activity or a path on the map (see :func:`drill`)."""
        v = self.view(log_id, activities)
        activity, source, target = what.get("activity"), what.get("source"), what.get("target")
        if activity is not None and activity not in v["activity_counts"]:
            raise Problem(
                404,
                "Not on this map",
                f"no activity {activity[:80]!r} on the map with {activities} % of the activities",
            )
        row = next((r for r in v["paths"] if (r["source"], r["target"]) == (source, target)), None)
        if activity is None and row is None:
            raise Problem(
                404,
                "Not on this map",
                f"no path from {(source or 'the start')[:80]!r} to {(target or 'the end')[:80]!r} "
                f"on the map with {activities} % of the activities",
            )
        with self.lock(log_id):  # the view's engine connection: one query at a time
            ids = v["index"].miner.cases_with(**what)
        found: dict[str, Any] = drill(v["index"], statistic=statistic, ids=ids, **what)
        if activity is not None:
            found["times"] = v["activity_counts"][activity]
        elif row is not None:
            found["times"] = row["count"]
            found["step_time_s"] = row.get(f"{statistic}_s")
        found["all_ids"] = ids
        return found

    def conform(self, log_id: str, model: Path, name: str, user: User) -> dict[str, Any]:
        """The whole log against a routing model (.toml) or a state-machine Petri net (.pnml),
        with every failing case and what went wrong; kept as the log's last check."""
        folder = self.folder(log_id)
        miner = Miner(self.base(log_id)["log"])  # its own connection: the map stays usable
        if model.suffix.lower() == ".pnml":
            result = miner.replay(read_pnml(model), time_limit_s=60.0, explain=True)
            result["kind"] = "token replay"
            result["fitness"] = result["log_fitness"]
        else:
            result = miner.conform(load_routing(model), time_limit_s=60.0, explain=True)
            result["kind"] = "routing"
            result["fitness"] = result["mean_fitness"]
        result = dict(result)
        per_case = result.pop("per_case")
        failing = [c for c in per_case if c["fitness"] < 1]
        failing.sort(key=lambda c: (c["fitness"], c["case"]))
        result |= {
            "model": name,
            "checked_at": clock.now().isoformat(),
            "by": user.username,
            "verdict": verdict(result["fitting_share"]),
            "failing_count": len(failing),
            "failing": failing,
        }
        kept = folder / f"conformance.{secrets.token_hex(4)}.tmp"
        kept.write_text(json.dumps(result, default=str))
        kept.replace(folder / "conformance.json")  # a reader never sees half a file
        return result

    def last_check(self, log_id: str) -> dict[str, Any] | None:
        path = self.folder(log_id) / "conformance.json"
        if not path.exists():
            return None
        return dict(json.loads(path.read_text()))

    def delete(self, log_id: str, user: User) -> str:
        """Remove a log, its maps and its check, in the audit trail with who."""
        folder = self.folder(log_id)
        meta = _meta(folder)
        with self.lock(log_id):
            shutil.rmtree(folder)
        with self.web.store.session(write=True) as session:
            audit.record(
                session,
                user.username,
                "delete event log",
                None,
                log=meta["name"],
                id=log_id,
                events=meta.get("events"),
                cases=meta.get("cases"),
                account=user.account,
            )
        return str(meta["name"])


def _left_out(notes: list[str]) -> set[str]:
    return {n.split(" is left out:")[0] for n in notes}


def failing_csv(check: dict[str, Any]) -> str:
    """The failing cases of a check as CSV: case, fitness, then what went wrong and the detail
    (one row per problem)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["case", "fitness", "what went wrong", "detail"])
    for c in check["failing"]:
        for p in c.get("problems") or [{"what": "", "detail": ""}]:
            w.writerow([cell(c["case"]), f"{c['fitness']:.3f}", p["what"], cell(p["detail"])])
    return out.getvalue()


def routes(app: FastAPI, web: Web, *, max_upload_mb: float) -> None:
    manager = web.need("manager")
    logs = Logs(web)
    limit = int(max_upload_mb * 1e6)

    def _percent(value: int | None, name: str) -> int | None:
        if value is not None and not 1 <= value <= 100:
            raise Problem(422, "Out of range", f"{name} is a percentage from 1 to 100, not {value}")
        return value

    def settings(log_id: str, activities: int | None, paths: int | None) -> tuple[int, int]:
        """The sliders as asked, or those of the readable default map."""
        acts = _percent(activities, "activities") or logs.default_activities(log_id)
        chosen = _percent(paths, "paths")
        return acts, chosen or logs.view(log_id, acts)["default_paths"]

    def _what(activity: str | None, source: str | None, target: str | None) -> dict[str, Any]:
        if activity is not None:
            return {"activity": activity}
        if source is None and target is None:
            raise Problem(
                422,
                "Nothing chosen",
                "name an activity (activity=…) or a path (source=… and target=…; "
                "leave out source for the start, target for the end)",
            )
        return {"source": source or None, "target": target or None}

    @app.get("/maps", response_class=HTMLResponse, include_in_schema=False)
    def maps_page(request: Request, deleted: str = "", user: User = manager) -> Response:
        return web.page(
            request,
            "maps.html",
            user,
            logs=logs.all(),
            max_mb=max_upload_mb,
            deleted=deleted[:120],
        )

    @app.get("/maps/{log_id}", response_class=HTMLResponse, include_in_schema=False)
    def map_page(
        request: Request,
        log_id: str,
        activities: int | None = None,
        paths: int | None = None,
        metric: Literal["frequency", "time"] = "frequency",
        statistic: Stat = "median",
        user: User = manager,
    ) -> Response:
        acts, chosen = settings(log_id, activities, paths)
        v = logs.view(log_id, acts)
        index: CaseIndex = v["index"]
        by_variant: dict[int, list[float]] = {}
        for case, rank in index.variant.items():
            by_variant.setdefault(rank, []).append(index.cases[case]["duration_s"])
        return web.page(
            request,
            "map.html",
            user,
            log_id=log_id,
            v=v,
            drawing=logs.drawing(log_id, acts, chosen),
            activities=acts,
            paths=chosen,
            default=(logs.default_activities(log_id), v["default_paths"]),
            metric=metric,
            statistic=statistic,
            statistics=STATISTICS,
            case_duration=statistic_of(logs.base(log_id)["durations"], statistic),
            variant_durations=[
                statistic_of(by_variant.get(i, []), statistic) for i in range(len(v["variants"]))
            ],
            check=logs.last_check(log_id),
            follow_good=FOLLOW_GOOD,
            follow_warn=FOLLOW_WARN,
        )

    @app.post("/maps/{log_id}/delete", include_in_schema=False)
    def delete_form(
        request: Request, log_id: str, csrf: str = Form(""), user: User = manager
    ) -> Response:
        web.check_csrf(request, csrf)
        name = logs.delete(log_id, user)
        return RedirectResponse(f"/maps?{urlencode({'deleted': name})}", status_code=303)

    @app.get(
        "/api/logs",
        summary="List the event logs",
        response_model=list[EventLogInfo],
        tags=["process maps"],
    )
    def api_logs(user: User = manager) -> list[dict[str, Any]]:
        """The uploaded event logs, newest first: id, name, columns, events, cases."""
        return logs.all()

    @app.post(
        "/api/logs",
        summary="Upload an event log",
        response_model=EventLogInfo,
        tags=["process maps"],
        status_code=201,
    )
    async def api_upload_log(
        request: Request,
        filename: str,
        case: str = "case",
        activity: str = "activity",
        timestamp: str = "timestamp",
        resource: str | None = None,
        timestamp_format: str | None = None,
        object_type: str | None = None,
        user: User = manager,
    ) -> dict[str, Any]:
        """Upload an event log as the request body, with the columns that hold the case, the
        activity and the timestamp (CSV and Parquet; XES and OCEL need none). It is read and
        checked at once: a log that cannot be read answers 422 with every problem."""
        web.api_csrf(request)
        name = file_name(filename, LOG_SUFFIXES, LOG_TYPES)
        log_id = secrets.token_hex(8)
        folder = logs.root / log_id
        spool = folder / "log"  # the upload's own folder: its name cannot reach meta.json
        try:
            path = await receive(request, spool, name, limit=limit, limit_mb=max_upload_mb)
            meta: dict[str, Any] = {
                "id": log_id,
                "name": name,
                "file": f"log/{name}",
                "columns": {
                    "case": case,
                    "activity": activity,
                    "timestamp": timestamp,
                    "resource": resource or None,
                    "timestamp_format": timestamp_format or None,
                    "object_type": object_type or None,
                },
                "uploaded_at": clock.now().isoformat(),
                "by": user.username,
            }
            try:
                summary, miner = await run_in_threadpool(
                    logs.check, path, meta, max_xml_bytes=UNPACK_FACTOR * limit
                )
            except TimeLimitExceeded as exc:
                raise Problem(
                    422,
                    "Log takes too long",
                    f"{name}: {exc}, the limit for uploads here; nothing was kept. Map it with "
                    "'pilotline map' on the server instead.",
                ) from None
            except Exception as exc:  # whatever the readers say of a file they cannot read
                raise refused("Cannot read this log", name, spool, exc, LOG_TYPES) from None
            meta |= {
                "events": summary["events"],
                "cases": summary["cases"],
                "activities": summary["activities"],
                "variants": summary["variants"],
            }
            (folder / "meta.json").write_text(json.dumps(meta))
            await run_in_threadpool(logs.keep, log_id, meta, miner)
        except BaseException:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)
            raise
        return meta

    @app.delete(
        "/api/logs/{log_id}",
        summary="Delete an event log",
        tags=["process maps"],
        status_code=204,
    )
    def api_delete_log(request: Request, log_id: str, user: User = manager) -> Response:
        """Delete an uploaded event log, its maps and its last check (in the audit trail)."""
        web.api_csrf(request)
        logs.delete(log_id, user)
        return Response(status_code=204)

    @app.get(
        "/api/logs/{log_id}/summary",
        summary="Summary, variants, loops and automation verdicts of a log",
        response_model=LogSummary,
        tags=["process maps"],
    )
    def api_log_summary(log_id: str, activities: int = 100, user: User = manager) -> dict[str, Any]:
        """Summary (the `pilotline map summary` contract), top variants, loops back and the
        automation verdict per activity, with the ``activities`` per cent most frequent kept."""
        v = logs.view(log_id, _percent(activities, "activities") or 100)
        return {k: v[k] for k in ("summary", "variants", "loopbacks", "automation")}

    @app.post(
        "/api/logs/{log_id}/conform",
        summary="Check a log against a model",
        response_model=Conformance,
        tags=["process maps"],
    )
    async def api_conform(
        request: Request, log_id: str, filename: str, user: User = manager
    ) -> dict[str, Any]:
        """Check the log against a model sent as the request body: a routing model (.toml:
        fitness per case, deviations by kind) or a state-machine Petri net (.pnml: token-based
        replay). The answer has the figures for the log, a verdict (good: at least 95 % of cases
        follow the model; warn: at least 80 %; bad) and the first 200 cases that do not follow
        it, least fitting first, each with what went wrong (missing, extra, wrong order). It is
        kept as the log's last check: ``GET /api/logs/ID/conformance.csv`` has every failing
        case."""
        web.api_csrf(request)
        logs.folder(log_id)
        name = file_name(
            filename, (".toml", ".pnml"), "a routing model (.toml) or a Petri net (.pnml)"
        )
        folder = web.home / "uploads" / secrets.token_hex(8)
        try:
            path = await receive(request, folder, name, limit=1_000_000, limit_mb=1)
            result = await run_in_threadpool(logs.conform, log_id, path, name, user)
        except InputError as exc:
            raise refused("Cannot check against this model", name, folder, exc, "") from None
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)
        return result | {"failing": result["failing"][:FAILING_SHOWN]}

    @app.get(
        "/api/logs/{log_id}/conformance.csv",
        summary="Failing cases of the last check, as CSV",
        tags=["process maps"],
        response_class=Response,
        responses={200: {"description": "CSV", "content": {"text/csv": {}}}},
    )
    def api_conformance_csv(log_id: str, user: User = manager) -> Response:
        """Every case that did not follow the model of the log's last check, with what went
        wrong: one row per problem (case, fitness, what went wrong, detail)."""
        check = logs.last_check(log_id)
        if check is None:
            raise Problem(
                404,
                "Not checked yet",
                "this log has not been checked against a model: send one to "
                f"/api/logs/{log_id}/conform, or use the check on its map page",
            )
        return _download(failing_csv(check), f"not-following-{check['model']}.csv")

    @app.get(
        "/api/logs/{log_id}/map.svg",
        summary="The process map as an SVG file",
        tags=["process maps"],
        response_class=Response,
        responses={200: {"description": "SVG", "content": {"image/svg+xml": {}}}},
    )
    def api_map_svg(
        log_id: str,
        activities: int | None = None,
        paths: int | None = None,
        metric: Literal["frequency", "time"] = "frequency",
        statistic: Stat = "median",
        user: User = manager,
    ) -> Response:
        """The process map as SVG: the ``activities`` per cent most frequent activities and the
        most frequent paths covering ``paths`` per cent of the steps, plus what joins every
        activity to the start and the end; paths labelled with how often they are taken or the
        ``statistic`` (median unless asked) of the time between their events. Without the
        sliders, the readable default: at most 12 activities, at most two paths per activity."""
        acts, chosen = settings(log_id, activities, paths)
        svg = logs.svg(log_id, acts, chosen, metric, statistic)
        return Response(
            svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=300"}
        )

    @app.get(
        "/api/logs/{log_id}/map",
        summary="The process map (SVG inside JSON, with what it shows)",
        response_model=ProcessMap,
        tags=["process maps"],
    )
    def api_map(
        log_id: str,
        activities: int | None = None,
        paths: int | None = None,
        metric: Literal["frequency", "time"] = "frequency",
        statistic: Stat = "median",
        user: User = manager,
    ) -> dict[str, Any]:
        """The process map as the page draws it: the SVG, the slider settings used (the readable
        default when not given), the activities and paths shown and notes on any left out."""
        acts, chosen = settings(log_id, activities, paths)
        d = logs.drawing(log_id, acts, chosen)
        return {
            "activities": acts,
            "paths": chosen,
            "statistic": statistic,
            "metric": metric,
            "activities_shown": len(d["activities"]),
            "paths_shown": len(d["paths"]),
            "notes": d["notes"],
            "svg": logs.svg(log_id, acts, chosen, metric, statistic),
        }

    @app.get(
        "/api/logs/{log_id}/cases",
        summary="The cases and variants behind an activity or a path",
        response_model=CasesBehind,
        tags=["process maps"],
    )
    def api_cases(
        log_id: str,
        activities: int | None = None,
        activity: str | None = None,
        source: str | None = None,
        target: str | None = None,
        statistic: Stat = "median",
        user: User = manager,
    ) -> dict[str, Any]:
        """The cases behind an activity (``activity``) or a path (``source`` → ``target``, one
        directly after the other; without ``source`` the cases starting with ``target``,
        without ``target`` those ending with ``source``) on the map with ``activities`` per
        cent of the activities: how many and their share of all cases, how often the activity
        or step happens, the ``statistic`` of the cases' durations (and of the step's time),
        their variants, and the first 100 case ids (the CSV has them all)."""
        acts, _ = settings(log_id, activities, 100)
        found = logs.drill(log_id, acts, statistic, **_what(activity, source, target))
        found.pop("all_ids")
        q = {"activities": acts, **{k: v for k, v in _what(activity, source, target).items()}}
        found["csv"] = f"/api/logs/{log_id}/cases.csv?" + urlencode(
            {k: v if v is not None else "" for k, v in q.items()}
        )
        return found

    @app.get(
        "/api/logs/{log_id}/cases.csv",
        summary="Every case id behind an activity or a path, as CSV",
        tags=["process maps"],
        response_class=Response,
        responses={200: {"description": "CSV", "content": {"text/csv": {}}}},
    )
    def api_cases_csv(
        log_id: str,
        activities: int | None = None,
        activity: str | None = None,
        source: str | None = None,
        target: str | None = None,
        user: User = manager,
    ) -> Response:
        """Every case behind an activity or a path (as ``/api/logs/ID/cases``), as CSV: id,
        events, first and last event (UTC), duration in seconds and variant number."""
        acts, _ = settings(log_id, activities, 100)
        what = _what(activity, source, target)
        found = logs.drill(log_id, acts, "median", **what)
        index: CaseIndex = logs.view(log_id, acts)["index"]
        label = activity or f"{source or 'start'} to {target or 'end'}"
        return _download(cases_csv(index, found["all_ids"]), f"cases-{label}.csv")


def _download(text: str, name: str) -> Response:
    safe = re.sub(r"[^\w.\- ]", "_", name)[:120]
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )
