"""``pilotline hub …``: a campaign coordinator's hub — disclosure control for its tables, the hub
database, its HTTP API and a simulated region for a demo."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table as RichTable
from typer.core import TyperGroup

from pilotline.errors import InputError
from pilotline.hub.db import URL_ENV, redact_text

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class _Redacting(TyperGroup):
    """The hub's commands: a usage error (an extra argument, a bad value) shows a database URL
    or ``password=`` from the command line with the password masked."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.TyperException as exc:  # the parser's errors (Typer's own click)
            if isinstance(getattr(exc, "message", None), str):
                exc.message = redact_text(exc.message)
            raise


hub_app = typer.Typer(
    help="Campaign hub (coordinators): firms' shared results and regional benchmarks.",
    no_args_is_help=True,
    rich_markup_mode=None,
    cls=_Redacting,
)

Format = Annotated[str, typer.Option("--format", help="text or json.")]


def _format(fmt: str) -> str:
    if fmt not in ("text", "json"):
        raise InputError(f"--format {fmt!r}: use text or json")
    return fmt


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, default=str, ensure_ascii=False), highlight=False)


def _nk(text: str) -> tuple[int, float]:
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return int(parts[0]), float(parts[1])
    except ValueError:
        raise InputError(f"--nk {text!r}: expected N,K such as 2,85") from None


@hub_app.command("disclosure")
def disclosure(
    table: Annotated[Path, typer.Argument(help="CSV with columns row, col, firm, value.")],
    min_firms: Annotated[int, typer.Option("--min-firms", help="Fewest firms in a cell.")] = 3,
    nk: Annotated[str, typer.Option("--nk", help="(n,k) dominance rule as N,K.")] = "2,85",
    p: Annotated[float, typer.Option("--p", help="p % rule.")] = 10.0,
    fmt: Format = "text",
) -> None:
    """A two-way table with its margins, suppressed as a release is (coordinator-only output:
    suppressed cells keep their values)."""
    from pilotline.hub.disclosure import Rules, Table, disclose, read_two_way, suppress

    fmt = _format(fmt)
    n, k = _nk(nk)
    rules = Rules(min_firms=min_firms, n=n, k=k, p=p)
    try:
        text = table.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {table}: {exc.strerror or exc}") from None
    t = Table.build(["row", "col"], read_two_way(str(table), text))
    suppress([t], rules)
    cells = disclose(t)
    if fmt == "json":
        _print_json(cells)
        return
    view = RichTable(show_edge=False)
    for col in ("row", "col", "firms", "value", "status", "rules"):
        view.add_column(col)
    for c in cells:
        rules_failed: list[str] = c["rules"]  # type: ignore[assignment]
        view.add_row(str(c["row"]), str(c["col"]), str(c["firms"]), f"{c['value']:g}",
                     str(c["status"]), ", ".join(rules_failed))  # fmt: skip
    out.print(view)


# -- the hub's directory -------------------------------------------------------------------------
firm_app = typer.Typer(help="Firms taking part, and their keys.", no_args_is_help=True,
                       rich_markup_mode=None)  # fmt: skip
consent_app = typer.Typer(help="The consent ledger: who agreed to what, when; export and erase.",
                          no_args_is_help=True, rich_markup_mode=None)  # fmt: skip
hub_app.add_typer(firm_app, name="firm")
hub_app.add_typer(consent_app, name="consent")

Dir = Annotated[
    Path,
    typer.Option(
        "--dir", envvar="PILOTLINE_HUB_HOME", help="The hub's directory.", show_default=False
    ),
]
Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="PILOTLINE_HUB_DATABASE_URL",
        help="A PostgreSQL database for the hub (postgresql://user:password@host:5432/hub); "
        "without it the hub is hub.sqlite in --dir.",
        show_default=False,
    ),
]
DEFAULT_DIR = Path.home() / ".local" / "share" / "pilotline-hub"


def _url(path: Path | None, database: str | None) -> str | None:
    """The database URL given (``None``: the SQLite hub in --dir); an empty one is an error,
    and a --dir given beside a URL is noted as unused."""
    if (database is not None and not database.strip()) or (
        database is None and os.environ.get(URL_ENV) == ""
    ):
        raise InputError(
            f"--database (or {URL_ENV}) is empty: give postgresql://user:password@host:5432/"
            f"database, or leave both unset for the hub in --dir"
        )
    if database and path is not None and path != DEFAULT_DIR:
        err.print(f"Note: --dir {path} is not used: the hub is in the database of --database.",
                  highlight=False)  # fmt: skip
    return database or None


def _hub(path: Path | None, database: str | None = None) -> Any:
    from pilotline.hub.store import HubStore

    return HubStore(path or DEFAULT_DIR, url=_url(path, database))


@hub_app.command("init")
def init(dir_: Dir = DEFAULT_DIR, database: Database = None) -> None:
    """Make a hub: hub.sqlite in its directory, or its tables in the PostgreSQL database of
    --database (settings at their defaults; an existing hub keeps its data and settings)."""
    from pilotline.hub.store import HubStore

    hub = HubStore.init(dir_, url=_url(dir_, database))
    out.print(f"Hub ready in {hub.where}. Register firms with 'pilotline hub firm add'.",
              highlight=False)  # fmt: skip


@hub_app.command("serve")
def serve(
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8100,
) -> None:
    """Serve the hub's API (firms send, list and withdraw; the published benchmark), its public
    and coordinator pages; event reminders are e-mailed by themselves (reminder_hours)."""
    import uvicorn

    from pilotline.hub.server import create_hub_app

    app = create_hub_app(dir_, database_url=_url(dir_, database), reminders=True)
    out.print(f"Hub on http://{host}:{port} (Ctrl-C to stop)", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


@hub_app.command("demo")
def demo(
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
    firms: Annotated[int, typer.Option(min=1, max=5000, help="Simulated firms.")] = 120,
    months: Annotated[int, typer.Option(min=1, max=36, help="Months of figures.")] = 6,
    seed: Annotated[int, typer.Option(help="Same seed, same region.")] = 1,
) -> None:
    """Fill a new hub with a simulated region (firms, their assessments, pilots and monthly
    figures, each with its consent record) and publish the first benchmark release."""
    from pilotline.hub.demo import fill
    from pilotline.hub.store import HubStore

    hub = HubStore.init(dir_, url=_url(dir_, database))
    if hub.rows("SELECT id FROM firms LIMIT 1"):
        raise InputError(f"the hub in {hub.where} has firms already: the demo fills a new hub "
                         "(another --dir, or an empty database)")  # fmt: skip
    counts = fill(hub, firms=firms, months=months, seed=seed)
    out.print(
        f"Demo hub in {hub.where}: {counts['firms']} firms, {counts['items']} items, "
        f"{counts['figures']:,} plant-months; release {counts['release']} "
        f"({counts['published']} cells published, {counts['suppressed']} suppressed).",
        highlight=False,
    )


@firm_app.command("add")
def firm_add(
    firm_id: Annotated[str, typer.Argument(help="Short id, such as acme-tools.")],
    name: Annotated[str, typer.Option(help="The organisation's name.")],
    sector: Annotated[str, typer.Option(help="Sector, as the campaign's tables use it.")],
    size_band: Annotated[str, typer.Option("--size-band", help="micro, small, medium or large.")],
    region: Annotated[str, typer.Option(help="Region, as the campaign's tables use it.")],
    key: Annotated[
        str | None, typer.Option(help="The firm's public key ('pilotline share campaign key').")
    ] = None,
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
) -> None:
    """Register a firm (with its public key, so that it can send)."""
    import re

    from pilotline.hub.benchmark import SIZE_BANDS
    from pilotline.hub.signing import check_public

    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,62}", firm_id):
        raise InputError(f"firm id {firm_id!r}: use 1–63 lower-case letters, digits, . _ -")
    if size_band not in SIZE_BANDS:
        raise InputError(f"--size-band {size_band!r}: expected one of {', '.join(SIZE_BANDS)}")
    for label, v in (("name", name), ("sector", sector), ("region", region)):
        if not v.strip() or len(v) > 120 or v.strip() == "Total":
            raise InputError(f"--{label} {v!r}: expected 1–120 characters (not 'Total')")
    _hub(dir_, database).add_firm(id=firm_id, name=name.strip(), sector=sector.strip(),
                        size_band=size_band, region=region.strip(),
                        public_key=check_public(key) if key else None)  # fmt: skip
    out.print(f"Registered {firm_id}.")


@firm_app.command("list")
def firm_list(dir_: Dir = DEFAULT_DIR, database: Database = None, fmt: Format = "text") -> None:
    """Firms with their cell and status."""
    rows = _hub(dir_, database).firms()
    if _format(fmt) == "json":
        _print_json(rows)
        return
    view = RichTable(show_edge=False)
    for col in ("id", "name", "sector", "size", "region", "status", "key"):
        view.add_column(col)
    for r in rows:
        view.add_row(r["id"], r["name"], r["sector"], r["size_band"], r["region"], r["status"],
                     "yes" if r["public_key"] else "no")  # fmt: skip
    out.print(view)


@hub_app.command("setting", context_settings={"ignore_unknown_options": True})
def setting(
    name: Annotated[str | None, typer.Argument(help="The setting (all when left out).")] = None,
    value: Annotated[str | None, typer.Argument(help="A new value (shown when left out).")] = None,
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
) -> None:
    """Show the hub's settings, or change one (e.g. interest_expiry_days 14; a value may start
    with '-', which is refused with what the setting takes)."""
    from pilotline.hub.store import SETTINGS

    hub = _hub(dir_, database)
    if name is not None and value is not None:
        hub.set_setting(name, value)
    for n in [name] if name is not None else list(SETTINGS):
        out.print(f"{n} = {hub.setting(n)}  ({SETTINGS[n].help})", highlight=False)


@hub_app.command("release")
def release(dir_: Dir = DEFAULT_DIR, database: Database = None, fmt: Format = "text") -> None:
    """Build, audit and keep the next benchmark release from the figures the hub holds."""
    import os

    from pilotline.hub.publish import publish

    rel = publish(_hub(dir_, database), workers=os.cpu_count() or 1)
    hidden = sum(c["status"] != "published" for c in rel.cells)
    if _format(fmt) == "json":
        _print_json({"version": rel.version, "inputs_sha256": rel.inputs_sha256,
                     "firms": rel.firms, "cells": len(rel.cells), "suppressed": hidden})  # fmt: skip
        return
    out.print(f"Release {rel.version}: {rel.firms} firms, {len(rel.cells):,} cells, {hidden:,} "
              f"suppressed; every suppressed cell passed the audit. Inputs {rel.inputs_sha256[:12]}.")  # fmt: skip


@consent_app.command("ledger")
def consent_ledger(
    firm: Annotated[str | None, typer.Option(help="Only this firm's.")] = None,
    person: Annotated[str | None, typer.Option(help="Only this person's.")] = None,
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
    fmt: Format = "text",
) -> None:
    """Who consented to what, when, under which text version, and when it was withdrawn."""
    from pilotline.hub.consent import ledger

    rows = ledger(_hub(dir_, database), firm=firm, person=person)
    if _format(fmt) == "json":
        _print_json(rows)
        return
    view = RichTable(show_edge=False)
    for col in ("#", "firm", "person", "item", "text", "given", "withdrawn"):
        view.add_column(col)
    for r in rows:
        view.add_row(str(r["seq"]), r["firm"], r["person"], r["item"], r["text_version"],
                     r["given_at"], r["withdrawn_at"] or "")  # fmt: skip
    out.print(view)
    if firm is None and person is None:
        from pilotline.hub.consent import erasures

        for e in erasures(_hub(dir_, database)):
            out.print(f"{e['at']}: {e['count']} {e['what']}(s) erased, {e['reason']}",
                      highlight=False)  # fmt: skip


@consent_app.command("export")
def consent_export(
    firm: Annotated[
        str | None,
        typer.Option(
            help="This firm: its record, what it sent, its consents, the registration "
            "of interest it was made from."
        ),
    ] = None,
    person: Annotated[str | None, typer.Option(help="A person, by name.")] = None,
    email: Annotated[str | None, typer.Option(help="A person, by e-mail address.")] = None,
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
) -> None:
    """What the hub keeps about a firm, or about a person (found by --person NAME, --email
    ADDRESS, or both), as JSON. A person's: consent records, event bookings, registrations of
    interest, rate-limit attempts, sign-in accounts with that name, where free text (firm notes,
    service notes, what firms sent, events) mentions them, and other names and addresses on their
    rows (look for those too). Check it before handing it over: a name can be someone else's."""
    from pilotline.hub.consent import export_firm, export_person

    if (firm is None) == (person is None and email is None):
        raise InputError("name one: --firm ID, or a person by --person NAME and/or --email ADDRESS")
    hub = _hub(dir_, database)
    _print_json(export_firm(hub, firm) if firm else export_person(hub, person, email=email))


@consent_app.command("erase")
def consent_erase(
    firm: Annotated[str | None, typer.Option(help="Erase this firm and all it sent.")] = None,
    person: Annotated[str | None, typer.Option(help="Erase a person, by name.")] = None,
    email: Annotated[str | None, typer.Option(help="Erase a person, by e-mail address.")] = None,
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
) -> None:
    """Erase a firm (everything it sent, its consents, its registration of interest and record),
    or a person (found by --person NAME, --email ADDRESS, or both): their name in the consent
    ledger replaced, their event bookings (a place they held goes to the first waiting, who is
    e-mailed), registrations of interest and rate-limit attempts deleted, in one transaction.
    Sign-in accounts and free text that name them are listed, not changed."""
    from pilotline.hub.consent import PLACES, erase_firm, forget

    if (firm is None) == (person is None and email is None):
        raise InputError("name one: --firm ID, or a person by --person NAME and/or --email ADDRESS")
    hub = _hub(dir_, database)
    if firm:
        counts = erase_firm(hub, firm)
        out.print(f"Erased {firm}: " + ", ".join(f"{n} {t}" for t, n in counts.items()))
        return
    done = forget(hub, person, email=email)
    who = " / ".join(repr(x) for x in (person, email) if x)
    out.print(f"Erased {who}: " + ", ".join(f"{PLACES[p]} {n}" for p, n in done.counts.items()),
              highlight=False)  # fmt: skip
    for m in done.moved_up:
        note = f" (the e-mail failed: {m['mail_error']})" if m["mail_error"] else ", e-mailed"
        out.print(f"Event {m['event']}: the place went to {m['email']}{note}.", highlight=False)
    for a in done.accounts:
        out.print(f"Kept: the sign-in account {a!r} (an account is not erased with a person).",
                  highlight=False)  # fmt: skip
    for m in done.mentions:
        out.print(f"Still mentioned in free text: {m['table']}.{m['column']} of {m['row']}; "
                  "edit it if it is this person.", highlight=False)  # fmt: skip


@firm_app.command("status")
def firm_status(
    firm_id: Annotated[str, typer.Argument(help="The firm.")],
    status: Annotated[str, typer.Argument(help="interested, engaged, piloting or alumni.")],
    notes: Annotated[str | None, typer.Option(help="Replace the firm's notes.")] = None,
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
) -> None:
    """Move a firm along: interested → engaged → piloting → alumni."""
    from pilotline.hub.portfolio import set_status

    set_status(_hub(dir_, database), firm_id, status, notes)
    out.print(f"{firm_id}: {status}.")


@firm_app.command("service")
def firm_service(
    firm_id: Annotated[str, typer.Argument(help="The firm.")],
    category: Annotated[
        str,
        typer.Argument(help="test-before-invest, skills, access-to-finance or networking."),
    ],
    note: Annotated[str, typer.Option(help="What was done.")] = "",
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
) -> None:
    """Record support given to a firm, in the EDIH categories (dated today)."""
    from pilotline.hub.portfolio import give_service

    give_service(_hub(dir_, database), firm_id, category, note)
    out.print(f"Recorded {category} for {firm_id}.")


@hub_app.command("portfolio")
def portfolio(dir_: Dir = DEFAULT_DIR, database: Database = None, fmt: Format = "text") -> None:
    """The pilot portfolio per catalogue step: pilots, share adopted, effect pooled across firms
    with its 95 % interval and a heterogeneity check."""
    from pilotline.hub.portfolio import pilot_portfolio

    rows = pilot_portfolio(_hub(dir_, database))
    if _format(fmt) == "json":
        _print_json(rows)
        return
    view = RichTable(show_edge=False)
    for col in ("step", "pilots", "firms", "adopted", "pooled effect (95 %)", "heterogeneity p"):
        view.add_column(col)
    for r in rows:
        effect = (
            f"{r['pooled_effect']:.2f} ({r['pooled_low']:.2f} to {r['pooled_high']:.2f})"
            if r["pooled_effect"] is not None
            else "—"
        )
        het = f"{r['heterogeneity_p']:.3f}" if r["heterogeneity_p"] is not None else "—"
        view.add_row(r["step"], str(r["pilots"]), str(r["firms"]),
                     f"{r['adopted_share']:.0%}", effect, het)  # fmt: skip
    out.print(view)


@hub_app.command("assessments")
def assessments(
    t0: Annotated[str, typer.Option(help="The first round.")] = "T0",
    t1: Annotated[str, typer.Option(help="The later round.")] = "T1",
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
    fmt: Format = "text",
) -> None:
    """The change per DMA dimension between two rounds, over firms that sent both."""
    from pilotline.hub.portfolio import assessment_change

    rows = assessment_change(_hub(dir_, database), t0=t0, t1=t1)
    if _format(fmt) == "json":
        _print_json(rows)
        return
    view = RichTable(show_edge=False)
    for col in ("dimension", "firms", t0, t1, "change"):
        view.add_column(col)
    for r in rows:
        view.add_row(r["dimension"], str(r["firms"]), f"{r[f'mean_{t0}']:.1f}",
                     f"{r[f'mean_{t1}']:.1f}", f"{r['mean_change']:+.1f}")  # fmt: skip
    out.print(view)


@hub_app.command("export")
def export(
    out_file: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
) -> None:
    """The EDIH-shaped report as CSV: entities served by size band, sector, region and type of
    support; the DMA change T0 → T1 per dimension."""
    from pilotline.hub.portfolio import edih_csv

    text = edih_csv(_hub(dir_, database))
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out_file}: {exc.strerror or exc}") from None
    out.print(f"Wrote {out_file}.")


event_app = typer.Typer(help="Campaign events: capacity, waiting list, calendar files.",
                        no_args_is_help=True, rich_markup_mode=None)  # fmt: skip
hub_app.add_typer(event_app, name="event")


@event_app.command("add")
def event_add(
    title: Annotated[str, typer.Argument(help="The event's title.")],
    starts: Annotated[str, typer.Option(help="Local start, such as 2026-03-27T09:30.")],
    ends: Annotated[str, typer.Option(help="Local end.")],
    tz: Annotated[str, typer.Option(help="IANA time zone, such as Europe/London.")],
    capacity: Annotated[int, typer.Option(help="Places; later registrations wait.")],
    location: Annotated[str, typer.Option(help="Where.")] = "",
    description: Annotated[str, typer.Option(help="What.")] = "",
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
) -> None:
    """Add an event to the public page and the calendar feed."""
    from pilotline.hub.events import add_event

    eid = add_event(_hub(dir_, database), title=title, starts=starts, ends=ends, tz=tz,
                    capacity=capacity, location=location, description=description)  # fmt: skip
    out.print(f"Event {eid} added.")


@event_app.command("list")
def event_list(dir_: Dir = DEFAULT_DIR, database: Database = None, fmt: Format = "text") -> None:
    """Upcoming events with places taken and the waiting list."""
    from pilotline.hub.events import upcoming

    rows = upcoming(_hub(dir_, database))
    if _format(fmt) == "json":
        _print_json(rows)
        return
    view = RichTable(show_edge=False)
    for col in ("#", "title", "starts", "time zone", "capacity", "registered", "waiting",
                "cancelled"):  # fmt: skip
        view.add_column(col)
    for e in rows:
        view.add_row(str(e["id"]), e["title"], f"{e['start']:%Y-%m-%d %H:%M}", e["tz"],
                     str(e["capacity"]), str(e["registered"]), str(e["waiting"]),
                     str(e["cancelled"]))  # fmt: skip
    out.print(view)


user_app = typer.Typer(help="Who may sign in to the coordinator's pages.", no_args_is_help=True,
                       rich_markup_mode=None)  # fmt: skip
hub_app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[str, typer.Option(help="coordinator (changes) or viewer (reads).")],
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
) -> None:
    """Add a coordinator or viewer; their password is printed once."""
    from pilotline.hub.coordinator import add_user

    password = add_user(_hub(dir_, database), name, role)
    out.print(f"{name} ({role}) added. Password (shown once): {password}")


@event_app.command("remind")
def event_remind(
    event_id: Annotated[int, typer.Argument(help="The event.")],
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
) -> None:
    """E-mail everyone with a place a reminder, with the event's calendar file."""
    from pilotline.hub.events import remind

    out.print(f"Reminded {remind(_hub(dir_, database), event_id)} people.")


@event_app.command("attended")
def event_attended(
    event_id: Annotated[int, typer.Argument(help="The event.")],
    email: Annotated[str, typer.Argument(help="Who came.")],
    dir_: Dir = DEFAULT_DIR,
    database: Database = None,
) -> None:
    """Record that someone with a place came."""
    from pilotline.hub.events import attended

    attended(_hub(dir_, database), event_id, email)
    out.print(f"{email} attended event {event_id}.")
