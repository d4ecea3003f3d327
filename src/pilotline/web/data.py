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
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from pilotline import clock
from pilotline.errors import ImportRejected, InputError, PlantModelError, StoreError
from pilotline.ingest import SCHEMAS, ImportOptions, import_file
from pilotline.ingest.additions import NewMachine, add_to_plant
from pilotline.ingest.importer import FileRejected
from pilotline.ingest.preview import preview
from pilotline.ingest.reader import first_bad_utf8, read_headers
from pilotline.ingest.remembered import recall, remember
from pilotline.ingest.schemas import LABELS
from pilotline.plant.losses import LOSS_CATEGORIES
from pilotline.store import Store, audit
from pilotline.web.context import Problem, Web
from pilotline.web.schemas import (
    Collector,
    Imported,
    ImportPage,
    PlantAdded,
    UploadPreview,
)
from pilotline.web.settings import Conflict, PlantFile
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
        extra: dict[str, Any] = {
            "problems": [
                {"file": name, "row": p.row, "column": p.column, "message": p.message}
                for p in exc.problems[:200]
            ]
        }
        if isinstance(exc, FileRejected):
            extra["unknown_machines"] = exc.unknown_machines
            extra["unknown_reasons"] = exc.unknown_reasons
        return Problem(
            422,
            title,
            f"{name}: {exc.total:,} problem(s) found"
            + (f" (the first {len(exc.problems[:200])} are listed)" if exc.total > 200 else "")
            + "; fix them and upload again.",
            extra,
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
    admin = web.need("admin")
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
            kind_titles={k: s.title for k, s in SCHEMAS.items()},
            imports=imports(20, 0, None),
            collectors=collectors(web.home),
            max_mb=max_upload_mb,
        )

    @app.get("/api/imports", summary="Imports so far", response_model=ImportPage, tags=["data"])
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

    @app.get(
        "/api/collectors",
        summary="Live collectors and their sources",
        response_model=list[Collector],
        tags=["data"],
    )
    def api_collectors(user: User = manager) -> list[dict[str, Any]]:
        """Live collectors (`pilotline collect`): each source's state, counts and problems."""
        return collectors(web.home)

    def read_mapping(text: str | None) -> dict[str, str]:
        if not text:
            return {}
        try:
            mapping = json.loads(text)
        except ValueError:
            mapping = None
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            raise Problem(
                422,
                "Bad column mapping",
                'The mapping must be a JSON object of file header → column, e.g. {"Maschine": '
                '"machine"}; "" leaves a column out.',
            )
        if len(mapping) > 500:
            raise Problem(422, "Bad column mapping", "The mapping names more than 500 columns.")
        return mapping

    @app.post(
        "/api/imports/preview",
        summary="Preview a file: what it holds and a target per column",
        response_model=UploadPreview,
        tags=["data"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    async def api_preview(
        request: Request, filename: str, partial: bool = False, user: User = manager
    ) -> dict[str, Any]:
        """A first look at a file before importing it: what it holds, a suggested column for
        each header (remembered from this source's last import, else from the header's words in
        English, German or French and the values), timestamp formats that read its values, the
        number style and text encoding, and machines or reason codes the plant model lacks.
        Send the whole file, or a CSV file's first bytes with ``partial=true``. Nothing is
        stored."""
        web.api_csrf(request)
        name = file_name(filename)
        folder = spool / secrets.token_hex(8)
        try:
            path = await receive(request, folder, name, limit=limit, limit_mb=max_upload_mb)
            plant = web.plant()
            try:
                look = await run_in_threadpool(preview, path, plant, name=name, partial=partial)
                known = await run_in_threadpool(recall, web.store, headers=look.headers, name=name)
                if known is not None:
                    look = await run_in_threadpool(
                        preview, path, plant, name=name, partial=partial, remembered=known
                    )
            except (InputError, ValueError, OSError, pa.ArrowException) as exc:
                raise refused("Cannot read this file", name, folder, exc, EXPECTED) from None
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)
        return look.as_json() | {
            "kinds": {
                k: {
                    "title": s.title,
                    "columns": [
                        {
                            "name": c.name,
                            "label": LABELS.get(c.name, c.name),
                            "required": c.required,
                            "help": c.help,
                        }
                        for c in s.columns
                    ],
                }
                for k, s in SCHEMAS.items()
            },
            "can_add": user.at_least("admin"),
            "lines": [line.name for line in plant.lines],
            "categories": [
                {"key": c.key, "label": c.label} for c in LOSS_CATEGORIES if c.key != "no_data"
            ],
        }

    @app.post(
        "/api/imports",
        summary="Import a file",
        response_model=Imported,
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
        timestamp_format: str | None = Query(None, max_length=100),
        counter_bits: int | None = None,
        ignore_extra: bool = False,
        mapping: str | None = Query(None, max_length=100_000),
        decimal_comma: bool | None = None,
        encoding: str = "utf-8",
        remember_mapping: bool = True,
        user: User = manager,
    ) -> dict[str, Any]:
        """Import one file sent as the request body (CSV, Excel or Parquet; name it with
        ``filename``). Checked completely and stored all or nothing, like ``pilotline import``;
        a rejected file answers 422 with every problem (file, row, column, message) and the
        machines and reason codes the plant model lacks. ``mapping`` (JSON: file header →
        column, "" to leave one out) says which column is which; it is remembered for the next
        file from the same source unless ``remember_mapping=false``. ``encoding`` is utf-8 or
        cp1252 (Windows' Western European); ``decimal_comma`` reads 12,0 as 12 (default: when a
        CSV file is ';' separated)."""
        web.api_csrf(request)
        name = file_name(filename)
        if kind is not None and kind not in SCHEMAS:
            raise Problem(422, "Unknown kind", f"kind must be one of {', '.join(SCHEMAS)}")
        if counter_bits not in (None, 16, 32, 64):
            raise Problem(422, "Bad counter width", "counter_bits must be 16, 32 or 64")
        if encoding not in ("utf-8", "cp1252"):
            raise Problem(422, "Unknown encoding", "encoding must be utf-8 or cp1252")
        columns = read_mapping(mapping)
        folder = spool / secrets.token_hex(8)
        try:
            path = await receive(request, folder, name, limit=limit, limit_mb=max_upload_mb)
            options = ImportOptions(
                kind=kind,
                mapping=columns,
                timestamp_format=timestamp_format or None,
                counter_bits=counter_bits,
                ignore_extra=ignore_extra,
                decimal_comma=decimal_comma,
                surface="web",
            )
            plant = web.plant()
            try:
                if encoding == "cp1252":
                    await run_in_threadpool(to_utf8, path)
                elif name.lower().endswith((".csv", ".txt", ".tsv")):
                    bad = await run_in_threadpool(first_bad_utf8, path)
                    if bad is not None:
                        raise Problem(
                            422,
                            "Nothing was imported",
                            f"{name} is not UTF-8 text: byte {bad[1]:,} (row {bad[0]}) is not "
                            "UTF-8, as in files from older Windows exports. Choose "
                            "'Windows-1252' under 'Text encoding' and import again, or save the "
                            "file as 'CSV UTF-8'.",
                        )
                summary = await run_in_threadpool(
                    import_file, web.store, plant, path, options=options, name=name
                )
                headers = read_headers(path)
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
            if remember_mapping and (columns or kind or timestamp_format):
                await run_in_threadpool(
                    keep_choices,
                    web.store,
                    headers=headers,
                    name=name,
                    kind=summary.kind,
                    mapping=columns,
                    options={
                        "timestamp_format": timestamp_format,
                        "ignore_extra": ignore_extra or None,
                        "decimal_comma": decimal_comma,
                        "encoding": encoding if encoding != "utf-8" else None,
                        "counter_bits": counter_bits,
                    },
                    who=user.username,
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
            "unknown_reasons": summary.unknown_reasons,
        }

    @app.post(
        "/api/imports/plant-additions",
        summary="Add missing machines and reason codes to the plant model",
        response_model=PlantAdded,
        tags=["data"],
    )
    def api_plant_additions(
        request: Request, body: PlantAdditions, user: User = admin
    ) -> dict[str, Any]:
        """Add the machines and reason codes an upload found missing to the plant model (admins).
        The plant model file keeps its layout; the additions are checked by reading the model
        back, and a model changed by someone else meanwhile is never overwritten."""
        web.api_csrf(request)
        plant_file = PlantFile(web.plant_file)
        text, version = plant_file.read()
        try:
            new = add_to_plant(
                text,
                machines=[NewMachine(m.id, m.line, m.ideal_cycle_s, m.name) for m in body.machines],
                reasons=body.reasons,
            )
            plant_file.save(new, version, who=user.username)
        except (InputError, PlantModelError) as exc:
            raise Problem(422, "Cannot add this", str(exc)) from None
        except Conflict as exc:
            raise Problem(409, "Conflict", str(exc)) from None
        return {
            "machines": [m.id for m in body.machines],
            "reasons": sorted(body.reasons),
        }


class NewMachineIn(BaseModel):
    id: str = Field(min_length=1, max_length=100)
    line: str = Field(min_length=1, max_length=100)
    ideal_cycle_s: float = Field(gt=0, le=86_400)
    name: str = Field("", max_length=100)


class PlantAdditions(BaseModel):
    machines: list[NewMachineIn] = Field(default_factory=list, max_length=100)
    reasons: dict[str, str] = Field(default_factory=dict, max_length=100)


def keep_choices(store: Store, **choices: Any) -> None:
    """Remember an import's mapping for the source's next file; the import stands even when
    this cannot be written (it is a convenience, said in the log)."""
    try:
        remember(store, **choices)
    except StoreError as exc:
        log.warning("could not remember the mapping of %s: %s", choices.get("name"), exc)


def to_utf8(path: Path) -> None:
    """Rewrite a Windows-1252 text file as UTF-8, in parts (a large file need not fit in memory)."""
    tmp = path.with_name(path.name + ".utf8")
    with (
        path.open("r", encoding="cp1252", errors="strict", newline="") as src,
        tmp.open("w", encoding="utf-8", newline="") as dst,
    ):
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    tmp.replace(path)
