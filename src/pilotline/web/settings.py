"""Settings: edit the plant model (machines, products, ideal cycle times, shifts, breaks, reasons).

The model stays a TOML file people can also edit by hand. A save names the version it started from;
if the file changed since, the save is refused with a conflict and both texts are kept, so two
people editing at once never overwrite each other unseen. Every saved version's predecessor is kept
in ``plant-history/``.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from pilotline import clock
from pilotline.errors import PilotlineError, PlantModelError
from pilotline.plant import Plant, parse_plant
from pilotline.web.context import Problem, Web
from pilotline.web.schemas import PlantModel, PlantSaved
from pilotline.web.users import User

MAX_PLANT_BYTES = 1_000_000
_lock = threading.Lock()


class Conflict(PilotlineError):
    """The plant model changed since the editor loaded it."""

    def __init__(self, current: str, version: str) -> None:
        super().__init__("The plant model was changed by someone else since you opened it.")
        self.current, self.version = current, version


def version_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class PlantFile:
    path: Path

    @property
    def history(self) -> Path:
        return self.path.parent / "plant-history"

    def read(self) -> tuple[str, str]:
        text = self.path.read_text(encoding="utf-8")
        return text, version_of(text)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time, in this process (threads) and across processes (web workers)."""
        with _lock, (self.path.parent / ".plant.lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def save(self, text: str, base_version: str, *, who: str) -> tuple[Plant, str]:
        """Validate and store ``text`` if the file is still at ``base_version``.

        Raises PlantModelError (nothing written) or Conflict (nothing written, current text given).
        """
        if len(text.encode()) > MAX_PLANT_BYTES:
            raise PlantModelError(f"plant.toml: larger than {MAX_PLANT_BYTES:,} bytes")
        text = text.replace("\r\n", "\n")
        plant = parse_plant(text, source="plant.toml")
        with self._locked():
            current, version = self.read()
            if version != base_version:
                if current == text:  # the same change made twice: nothing to do
                    return plant, version
                raise Conflict(current, version)
            if current == text:
                return plant, version
            stamp = clock.now().strftime("%Y%m%dT%H%M%S%fZ")
            self.history.mkdir(exist_ok=True)
            (self.history / f"plant-{stamp}-{version}-before-{_safe(who)}.toml").write_text(
                current, encoding="utf-8"
            )
            tmp = self.path.with_suffix(".toml.saving")
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(self.path)
        return plant, version_of(text)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)[:32]


def outline(plant: Plant) -> dict[str, Any]:
    """What the settings page lists above the editor, so people can check a change at a glance."""
    return {
        "site": plant.site.name,
        "timezone": plant.site.timezone,
        "lines": [
            {
                "line": line.name,
                "calendar": line.calendar,
                "machines": [
                    {"id": m.id, "name": m.label, "ideal_cycle_s": m.ideal_cycle_s}
                    for m in line.machines
                ],
            }
            for line in plant.lines
        ],
        "products": [p.model_dump(mode="json") for p in plant.products],
        "calendars": [c.model_dump(mode="json") for c in plant.calendars],
        "reasons": plant.reason_categories(),
    }


class PlantIn(BaseModel):
    toml: str = Field(max_length=MAX_PLANT_BYTES, description="The whole plant model as TOML.")
    version: str | None = Field(
        None,
        description="The version this edit started from (from GET /api/plant); "
        "or send it in an If-Match header.",
    )


def routes(app: FastAPI, web: Web) -> None:
    admin = web.need("admin")
    plant_file = PlantFile(web.plant_file)

    def conflict_page(
        request: Request, user: User, mine: str, exc: Conflict, status: int = 409
    ) -> Response:
        diff = "\n".join(
            difflib.unified_diff(
                exc.current.splitlines(),
                mine.splitlines(),
                "saved now",
                "your edit",
                lineterm="",
            )
        )
        return web.page(
            request,
            "settings.html",
            user,
            status_code=status,
            text=mine,
            version=exc.version,
            outline=_try_outline(exc.current),
            error=str(exc),
            conflict={"current": exc.current, "diff": diff},
            saved=False,
        )

    @app.get("/settings", response_class=HTMLResponse, include_in_schema=False)
    def settings_page(request: Request, saved: bool = False, user: User = admin) -> Response:
        text, version = plant_file.read()
        return web.page(
            request,
            "settings.html",
            user,
            text=text,
            version=version,
            outline=_try_outline(text),
            error=None,
            conflict=None,
            saved=saved,
        )

    @app.post("/settings", response_class=HTMLResponse, include_in_schema=False)
    def settings_save(
        request: Request,
        toml: str = Form(..., max_length=MAX_PLANT_BYTES),
        version: str = Form(...),
        csrf: str = Form(""),
        user: User = admin,
    ) -> Response:
        web.check_csrf(request, csrf)
        try:
            plant_file.save(toml, version, who=user.username)
        except Conflict as exc:
            return conflict_page(request, user, toml, exc)
        except PlantModelError as exc:
            return web.page(
                request,
                "settings.html",
                user,
                status_code=422,
                text=toml,
                version=version,
                outline=_try_outline(plant_file.read()[0]),
                error=str(exc),
                conflict=None,
                saved=False,
            )
        return RedirectResponse("/settings?saved=true", status_code=303)

    @app.get(
        "/api/plant", summary="Read the plant model", response_model=PlantModel, tags=["settings"]
    )
    def api_plant(response: Response, user: User = admin) -> dict[str, Any]:
        """The plant model: its TOML text, its version (also the ETag) and an outline."""
        text, version = plant_file.read()
        response.headers["ETag"] = f'"{version}"'
        return {"version": version, "toml": text, "outline": _try_outline(text)}

    @app.put(
        "/api/plant",
        summary="Replace the plant model",
        response_model=PlantSaved,
        responses={428: {"description": "No version given: send the one you edited."}},
        tags=["settings"],
    )
    def api_plant_put(
        request: Request,
        response: Response,
        body: PlantIn,
        if_match: str | None = Header(None),
        user: User = admin,
    ) -> dict[str, Any]:
        """Replace the plant model. Give the version you started from (body or If-Match): if the
        model changed since, the answer is 409 with the current version and nothing is written."""
        web.api_csrf(request)
        base = body.version or (if_match or "").strip().strip('"')
        if not base:
            raise Problem(
                428, "Version needed", "Send the version you edited (body 'version' or If-Match)."
            )
        try:
            plant, version = plant_file.save(body.toml, base, who=user.username)
        except Conflict as exc:
            raise Problem(
                409, "Conflict", str(exc), {"current_version": exc.version, "current": exc.current}
            ) from None
        except PlantModelError as exc:
            raise Problem(422, "Invalid plant model", str(exc)) from None
        response.headers["ETag"] = f'"{version}"'
        return {"version": version, "outline": outline(plant)}


def _try_outline(text: str) -> dict[str, Any] | None:
    try:
        return outline(parse_plant(text))
    except PlantModelError:
        return None
