"""Process maps in the web app: upload an event log (an ERP export), see its map with activity and
path sliders (as in Disco), its variants, loops and an automation verdict per step.

Logs are kept in ``<home>/logs/<id>/``: the file as ``log/<its name>`` and, beside that folder, a
``meta.json`` saying which columns hold what (no uploaded name can reach it). A log is read and
checked when it is uploaded (the same messages as ``pilotline map``), within
:data:`UPLOAD_TIME_LIMIT_S` and with a ``.xes.gz`` unpacking to at most :data:`UNPACK_FACTOR`
times the upload limit; its analyses are computed once per setting of the activity slider and
kept in memory for an hour.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from pilotline import clock
from pilotline.errors import InputError, TimeLimitExceeded
from pilotline.map import LogColumns, Miner, filters, read_log
from pilotline.map.conformance import load_routing
from pilotline.map.petri import read_pnml
from pilotline.map.render import dfg_dot, render_svg
from pilotline.web.cache import Cache
from pilotline.web.context import Problem, Web
from pilotline.web.data import file_name, receive, refused
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


def paths_kept(dfg: list[dict[str, Any]], share: float) -> list[dict[str, Any]]:
    """The most frequent paths covering ``share`` of all steps, plus each activity's busiest way
    in and out, so that no activity on the map is left floating (as Disco does)."""
    rows = sorted(dfg, key=lambda r: (-r["count"], r["source"], r["target"]))
    total = sum(r["count"] for r in rows)
    keep: list[dict[str, Any]] = []
    covered = 0
    for r in rows:
        if keep and total and covered / total >= share:
            break
        keep.append(r)
        covered += r["count"]
    chosen = {(r["source"], r["target"]) for r in keep}
    best_in: dict[str, dict[str, Any]] = {}
    best_out: dict[str, dict[str, Any]] = {}
    for r in rows:
        best_out.setdefault(r["source"], r)
        best_in.setdefault(r["target"], r)
    for r in [*best_in.values(), *best_out.values()]:
        if (r["source"], r["target"]) not in chosen:
            chosen.add((r["source"], r["target"]))
            keep.append(r)
    return keep


class Logs:
    """The uploaded event logs and one analysed view of each per activity-slider setting."""

    def __init__(self, web: Web) -> None:
        self.web = web
        self.root = web.home / "logs"
        self.views = Cache(ttl_s=3600.0, max_keys=32)
        self.svgs = Cache(ttl_s=3600.0, max_keys=256)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def folder(self, log_id: str) -> Path:
        if not _ID.match(log_id) or not (self.root / log_id / "meta.json").exists():
            raise Problem(404, "Not found", f"no event log with id {log_id[:40]!r}")
        return self.root / log_id

    def all(self) -> list[dict[str, Any]]:
        if not self.root.exists():
            return []
        found = [_meta(f) for f in self.root.iterdir() if (f / "meta.json").exists()]
        return sorted(found, key=lambda m: m["uploaded_at"], reverse=True)

    def check(self, path: Path, meta: dict[str, Any], *, max_xml_bytes: int) -> dict[str, Any]:
        """Read and summarise an uploaded log within :data:`UPLOAD_TIME_LIMIT_S`: the readers
        are stopped between chunks, the engine's query is interrupted."""
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
            return miner.summary()
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

    def view(self, log_id: str, activities: int) -> dict[str, Any]:
        """Summary, map data, variants, loops and readiness with the ``activities`` per cent most
        frequent activities kept (the others' events dropped, so steps bridge over them)."""
        folder = self.folder(log_id)

        def compute() -> dict[str, Any]:
            with self._guard:
                lock = self._locks.setdefault(log_id, threading.Lock())
            with lock:  # one engine connection per log: one analysis at a time
                meta = _meta(folder)
                miner = self.read(folder / meta["file"], meta)
                counts = {a["activity"]: a["events"] for a in miner.activities()}
                ranked = sorted(counts, key=lambda a: (-counts[a], a))
                n = max(1, round(len(ranked) * activities / 100))
                if n < len(ranked):
                    miner = miner.where(filters.activities, keep=ranked[:n])
                summary = miner.summary()
                return {
                    "meta": meta,
                    "summary": summary,
                    "activity_counts": {a: counts[a] for a in ranked[:n]},
                    "all_activities": len(ranked),
                    "variants": miner.variants()[:15],
                    "loopbacks": miner.loopbacks()[:15],
                    "automation": miner.automation(),
                }

        return dict(self.views.get((log_id, activities), compute))

    def conform(self, log_id: str, model: Path) -> dict[str, Any]:
        """The whole log against a routing model (.toml) or a state-machine Petri net (.pnml)."""
        folder = self.folder(log_id)
        with self._guard:
            lock = self._locks.setdefault(log_id, threading.Lock())
        with lock:
            meta = _meta(folder)
            miner = self.read(folder / meta["file"], meta)
            if model.suffix.lower() == ".pnml":
                result = miner.replay(read_pnml(model), time_limit_s=60.0)
                result["kind"] = "token replay"
            else:
                result = miner.conform(load_routing(model), time_limit_s=60.0)
                result["kind"] = "routing"
        result["worst_cases"] = sorted(result.pop("per_case"), key=lambda c: c["fitness"])[:20]
        return result

    def svg(self, log_id: str, activities: int, paths: int, metric: str) -> str:
        self.folder(log_id)  # a deleted log's cached maps are not served

        def draw() -> str:
            v = self.view(log_id, activities)
            s = v["summary"]
            return render_svg(
                dfg_dot(
                    paths_kept(s["dfg"], paths / 100),
                    v["activity_counts"],
                    s["start_activities"],
                    s["end_activities"],
                    metric="time" if metric == "time" else "frequency",
                )
            )

        return str(self.svgs.get((log_id, activities, paths, metric), draw))


def routes(app: FastAPI, web: Web, *, max_upload_mb: float) -> None:
    manager = web.need("manager")
    logs = Logs(web)
    limit = int(max_upload_mb * 1e6)

    def _percent(value: int, name: str) -> int:
        if not 1 <= value <= 100:
            raise Problem(422, "Out of range", f"{name} is a percentage from 1 to 100")
        return value

    @app.get("/maps", response_class=HTMLResponse, include_in_schema=False)
    def maps_page(request: Request, user: User = manager) -> Response:
        return web.page(request, "maps.html", user, logs=logs.all(), max_mb=max_upload_mb)

    @app.get("/maps/{log_id}", response_class=HTMLResponse, include_in_schema=False)
    def map_page(
        request: Request,
        log_id: str,
        activities: int = 100,
        paths: int = 100,
        metric: Literal["frequency", "time"] = "frequency",
        user: User = manager,
    ) -> Response:
        v = logs.view(log_id, _percent(activities, "activities"))
        return web.page(
            request,
            "map.html",
            user,
            log_id=log_id,
            v=v,
            activities=activities,
            paths=_percent(paths, "paths"),
            metric=metric,
        )

    @app.get("/api/logs", tags=["process maps"])
    def api_logs(user: User = manager) -> list[dict[str, Any]]:
        """The uploaded event logs, newest first: id, name, columns, events, cases."""
        return logs.all()

    @app.post("/api/logs", tags=["process maps"], status_code=201)
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
                summary = await run_in_threadpool(
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
        except BaseException:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)
            raise
        return meta

    @app.delete("/api/logs/{log_id}", tags=["process maps"], status_code=204)
    def api_delete_log(request: Request, log_id: str, user: User = manager) -> Response:
        """Delete an uploaded event log."""
        web.api_csrf(request)
        shutil.rmtree(logs.folder(log_id))
        return Response(status_code=204)

    @app.get("/api/logs/{log_id}/summary", tags=["process maps"])
    def api_log_summary(log_id: str, activities: int = 100, user: User = manager) -> dict[str, Any]:
        """Summary (the `pilotline map summary` contract), top variants, loops back and the
        automation verdict per activity, with the ``activities`` per cent most frequent kept."""
        v = logs.view(log_id, _percent(activities, "activities"))
        return {k: v[k] for k in ("summary", "variants", "loopbacks", "automation")}

    @app.post("/api/logs/{log_id}/conform", tags=["process maps"])
    async def api_conform(
        request: Request, log_id: str, filename: str, user: User = manager
    ) -> dict[str, Any]:
        """Check the log against a model sent as the request body: a routing model (.toml:
        fitness per case, deviations by kind) or a state-machine Petri net (.pnml: token-based
        replay). The answer has the figures for the log and its 20 least fitting cases."""
        web.api_csrf(request)
        logs.folder(log_id)
        name = file_name(
            filename, (".toml", ".pnml"), "a routing model (.toml) or a Petri net (.pnml)"
        )
        folder = web.home / "uploads" / secrets.token_hex(8)
        try:
            path = await receive(request, folder, name, limit=1_000_000, limit_mb=1)
            return await run_in_threadpool(logs.conform, log_id, path)
        except InputError as exc:
            raise refused("Cannot check against this model", name, folder, exc, "") from None
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)

    @app.get("/api/logs/{log_id}/map.svg", tags=["process maps"])
    def api_map_svg(
        log_id: str,
        activities: int = 100,
        paths: int = 100,
        metric: Literal["frequency", "time"] = "frequency",
        user: User = manager,
    ) -> Response:
        """The process map as SVG: the ``activities`` per cent most frequent activities and the
        most frequent paths covering ``paths`` per cent of the steps; edges labelled with the
        frequency or the mean time."""
        svg = logs.svg(log_id, _percent(activities, "activities"), _percent(paths, "paths"), metric)
        return Response(
            svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=300"}
        )
