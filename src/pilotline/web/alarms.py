"""AI alarms on the floor: once a model's pilot is under way, its open alarms show on the
overview (a badge on the machine's tile) and on the operator's tablet page, with two big buttons —
"real problem" and "false alarm" — whose answer becomes a label for the next training.

What is shown is decided in :mod:`pilotline.ai.floor` (the pilot's days; in a switchback only the
days it shows alarms). The pages read it through one small query, kept for a few seconds for
everyone (like the overview's other data), and cut to the user's lines.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from pilotline import clock
from pilotline.ai import floor, records, shadow
from pilotline.errors import InputError, NotFound
from pilotline.web.cache import Cache
from pilotline.web.context import Web
from pilotline.web.operate import machine_of
from pilotline.web.users import User

#: How long the alarms on the floor are kept before the next query (seconds).
FRESH_S = 5.0


def routes(app: FastAPI, web: Web) -> None:
    kept = Cache(ttl_s=FRESH_S)
    ready: list[bool] = []  # whether the AI tables are known to exist

    def compute() -> list[dict[str, Any]]:
        if not ready:
            records.ensure_tables(web.store)
            ready.append(True)
        with web.store.session() as s:
            rows = floor.open_alarms(s, clock.now())
        tz = web.plant().tz
        return [
            {
                "model": r["model"],
                "machine": r["machine"],
                "start": r["start_ts"].replace(tzinfo=dt.UTC).isoformat(),
                "end": r["end_ts"].replace(tzinfo=dt.UTC).isoformat(),
                "local_start": r["start_ts"]
                .replace(tzinfo=dt.UTC)
                .astimezone(tz)
                .strftime("%H:%M"),
            }
            for r in rows
        ]

    def on_floor(user: User, machine: str | None = None) -> list[dict[str, Any]]:
        """Open alarms of the machines on the user's lines (of one machine when named)."""
        every = kept.get("all", compute)
        if not every:
            return []
        lines = {m.id: line.name for line, m in web.plant().machines}
        return [
            a
            for a in every
            if (machine is None or a["machine"] == machine)
            and a["machine"] in lines
            and user.sees_line(lines[a["machine"]])
        ]

    web.templates.env.globals["floor_alarms"] = on_floor
    any_user = web.need("operator")

    @app.get(
        "/api/alarms",
        tags=["operate"],
        summary="AI alarms on the floor: open alarms of models whose pilot shows them now",
    )
    def api_alarms(user: User = any_user) -> list[dict[str, Any]]:
        """Unanswered alarms of the last 12 hours on the user's machines, newest first: model,
        machine, start and end (UTC) and the start in the plant's time zone."""
        return on_floor(user)

    @app.post("/operate/{machine}/alarm", include_in_schema=False)
    def answer_alarm(
        request: Request,
        machine: str,
        model: str = Form(..., max_length=100),
        start: str = Form(..., max_length=40),
        answer: str = Form(..., max_length=10),
        csrf: str = Form(""),
        user: User = any_user,
    ) -> Response:
        web.check_csrf(request, csrf)
        machine_of(web.plant(), user, machine)  # only machines of the operator's lines
        if answer not in ("real", "false"):
            raise InputError(f"{answer!r}: answer real (a real problem) or false (a false alarm)")
        try:
            when = dt.datetime.fromisoformat(start)
        except ValueError:
            raise InputError(f"{start!r} is not the start time of an alarm") from None
        when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        kept.clear()  # answered alarms leave the floor at once
        if not any(
            a["model"] == model and dt.datetime.fromisoformat(a["start"]) == when
            for a in on_floor(user, machine)
        ):
            raise NotFound(
                f"no open alarm of {model!r} on {machine} started at {start} (answered already, "
                "or no longer on the floor)"
            )
        shadow.answer(
            web.store,
            model,
            when,
            real=answer == "real",
            by=user.username,
            machine=machine,
            audited=True,
            account=user.account,
            first_only=True,  # two tablets at once: the first answer stands
        )
        kept.clear()
        request.session["done"] = (
            "Thank you: recorded as a real problem."
            if answer == "real"
            else "Thank you: recorded as a false alarm."
        )
        return RedirectResponse(f"/operate/{machine}", status_code=303)
