"""The data page: file uploads (the same checks and messages as ``pilotline import``), the imports
so far, and the status of live collectors.

An upload is spooled to a private folder on the data disk, checked and imported all or nothing,
then deleted. A file bigger than the limit is refused before it is read; an upload that breaks
off is thrown away, so nothing is ever imported from half a file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.requests import ClientDisconnect

from pilotline import clock
from pilotline.errors import ImportRejected, InputError
from pilotline.ingest import SCHEMAS, ImportOptions, import_file
from pilotline.store import audit
from pilotline.web.context import Problem, Web
from pilotline.web.users import User

SUFFIXES = (".csv", ".txt", ".xlsx", ".parquet")
log = logging.getLogger(__name__)
CHUNK = 1 << 20
MAX_OFFSET = 10**9  # paging further than this is a mistake, not a request


def file_name(name: str, suffixes: tuple[str, ...] = SUFFIXES, expected: str = "") -> str:
    """The uploaded file's own name, made safe to store (no folders, no odd characters)."""
    base = Path(name.replace("\\", "/")).name.strip()
    base = re.sub(r"[^\w.\- ]", "_", base)[:120]
    if not base or base.startswith("."):
        raise Problem(422, "Bad file name", "Give the file's name, e.g. states-may.csv.")
    if not base.lower().endswith(suffixes):
        raise Problem(415, "Unsupported file type", f"{base}: expected {expected or EXPECTED}.")
    return base


EXPECTED = "a CSV (.csv, .txt), Excel (.xlsx) or Parquet (.parquet) file"


def refused(title: str, name: str, folder: Path, exc: Exception, expected: str) -> Problem:
    """The answer for an uploaded file that was refused: every located problem of an
    ImportRejected (row, column, message), an InputError's message, or what the reader said of
    a file it could not read at all. The spool folder's path is never shown."""
    if isinstance(exc, ImportRejected):
        return Problem(
            422,
            title,
            f"{name}: {exc.total:,} problem(s) found; fix them and upload again.",
            {
                "problems": [
                    {"file": name, "row": p.row, "column": p.column, "message": p.message}
                    for p in exc.problems[:200]
                ]
            },
        )
    text = str(exc).replace(str(folder) + "/", "")
    if isinstance(exc, InputError):
        return Problem(422, title, text)
    log.info("cannot read uploaded file %s: %r", name, exc)
    return Problem(
        422, title, f"{name} could not be read as {expected} ({type(exc).__name__}: {text[:300]})."
    )


def collectors(home: Path, now: float | None = None) -> list[dict[str, Any]]:
    """The live collectors' last status files, marking those that stopped renewing them."""
    now = clock.timestamp() if now is None else now
    out = []
    for path in sorted((home / "status").glob("collector-*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being replaced right now; the next refresh shows it
        age = now - data["updated_us"] / 1e6
        stopped = all(s["state"] == "stopped" for s in data["sources"])
        data["name"] = path.stem.removeprefix("collector-")
        data["age_s"] = round(age, 1)
        data["running"] = not stopped and age < 5 * data.get("heartbeat_s", 2.0)
        out.append(data)
    return out


async def receive(
    request: Request, folder: Path, name: str, *, limit: int, limit_mb: float
) -> Path:
    """Stream the request body into ``folder/name``. A body over ``limit`` bytes is refused (413)
    before it is read when its size is announced, else as soon as it passes the limit; a body that
    breaks off or is shorter than announced is refused (400). On refusal nothing is kept; the
    caller removes ``folder`` when done with the file."""
    declared = request.headers.get("content-length")
    too_big = Problem(
        413,
        "File too large",
        f"{name} is larger than {limit_mb:g} MB, the limit for uploads here; "
        "import it with 'pilotline import' on the server instead.",
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    folder.mkdir(parents=True)
    path = folder / name
    received = 0
    try:
        with path.open("wb") as fh:
            async for chunk in request.stream():
                received += len(chunk)
                if received > limit:
                    raise too_big
                fh.write(chunk)
    except ClientDisconnect:
        raise Problem(
            400, "Upload incomplete", f"{name}: the upload broke off; nothing was imported."
        ) from None
    if declared is not None and declared.isdigit() and received != int(declared):
        raise Problem(
            400,
            "Upload incomplete",
            f"{name}: {received:,} of {int(declared):,} bytes arrived; nothing was imported.",
        )
    if received == 0:
        raise Problem(422, "Empty file", f"{name} is empty; nothing was imported.")
    return path


def routes(app: FastAPI, web: Web, *, max_upload_mb: float) -> None:
    manager = web.need("manager")
    limit = int(max_upload_mb * 1e6)
    spool = web.home / "uploads"

    def imports(limit_: int, offset: int, kind: str | None) -> dict[str, Any]:
        where, params = "", []
        if kind:
            where, params = " WHERE kind = ?", [kind]
        with web.store.session() as s:
            total = int(s.scalar("SELECT count(*) FROM imports" + where, params))
            rows = s.arrow(
                "SELECT id, file, kind, rows, new_rows, imported_at FROM imports"
                + where
                + " ORDER BY id DESC LIMIT ? OFFSET ?",
                [*params, limit_, offset],
            ).to_pylist()
        for r in rows:
            r["imported_at"] = r["imported_at"].isoformat() + "Z"
        return {"total": total, "items": rows}

    @app.get("/data", response_class=HTMLResponse, include_in_schema=False)
    def data_page(request: Request, user: User = manager) -> Response:
        return web.page(
            request,
            "data.html",
            user,
            kinds=list(SCHEMAS),
            imports=imports(20, 0, None),
            collectors=collectors(web.home),
            max_mb=max_upload_mb,
        )

    @app.get("/api/imports", tags=["data"])
    def api_imports(
        limit: int = Query(50, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
        kind: str | None = None,
        user: User = manager,
    ) -> dict[str, Any]:
        """Imports so far, newest first: file, kind, rows, new rows; filter by kind, page with
        limit (1–1000) and offset."""
        if kind is not None and kind not in SCHEMAS:
            raise Problem(422, "Unknown kind", f"kind must be one of {', '.join(SCHEMAS)}")
        return imports(limit, offset, kind)

    @app.get("/api/collectors", tags=["data"])
    def api_collectors(user: User = manager) -> list[dict[str, Any]]:
        """Live collectors (`pilotline collect`): each source's state, counts and problems."""
        return collectors(web.home)

    @app.post(
        "/api/imports",
        tags=["data"],
        status_code=201,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    async def api_upload(
        request: Request,
        filename: str,
        kind: str | None = None,
        timestamp_format: str | None = None,
        counter_bits: int | None = None,
        ignore_extra: bool = False,
        user: User = manager,
    ) -> dict[str, Any]:
        """Import one file sent as the request body (CSV, Excel or Parquet; name it with
        ``filename``). Checked completely and stored all or nothing, like ``pilotline import``;
        a rejected file answers 422 with every problem (file, row, column, message)."""
        web.api_csrf(request)
        name = file_name(filename)
        if kind is not None and kind not in SCHEMAS:
            raise Problem(422, "Unknown kind", f"kind must be one of {', '.join(SCHEMAS)}")
        if counter_bits not in (None, 16, 32, 64):
            raise Problem(422, "Bad counter width", "counter_bits must be 16, 32 or 64")
        folder = spool / secrets.token_hex(8)
        try:
            path = await receive(request, folder, name, limit=limit, limit_mb=max_upload_mb)
            options = ImportOptions(
                kind=kind,
                timestamp_format=timestamp_format,
                counter_bits=counter_bits,
                ignore_extra=ignore_extra,
            )
            plant = web.plant()
            try:
                summary = await run_in_threadpool(
                    import_file, web.store, plant, path, options=options, name=name
                )
            except (InputError, ValueError, OSError, pa.ArrowException) as exc:
                raise refused("Nothing was imported", name, folder, exc, EXPECTED) from None
            with web.store.session(write=True) as session:  # who brought which file, and when
                audit.record(
                    session,
                    user.username,
                    "import",
                    None,
                    file=summary.file,
                    kind=summary.kind,
                    rows=summary.rows,
                    new_rows=summary.new_rows,
                    account=user.account,
                )
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)
        return {
            "file": summary.file,
            "kind": summary.kind,
            "rows": summary.rows,
            "new_rows": summary.new_rows,
            "skipped": summary.skipped,
            "notes": summary.notes,
        }
