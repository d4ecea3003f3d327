"""``pilotline share …``: partners, grants, what a partner receives, AASX files, pulling from a
partner's AAS API, and the record of partner reads."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pilotline.errors import InputError, PilotlineError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

share_app = typer.Typer(
    help="Share: give a customer or supplier exactly the data agreed, through the AAS API.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
partner_app = typer.Typer(help="Partners (customers, suppliers) and their API keys.",
                          no_args_is_help=True, rich_markup_mode=None)  # fmt: skip
audit_app = typer.Typer(help="The hash-chained record of partner reads.", no_args_is_help=True,
                        rich_markup_mode=None)  # fmt: skip
share_app.add_typer(partner_app, name="partner")
share_app.add_typer(audit_app, name="audit")
share_app.add_typer(
    __import__("pilotline.cli.campaign", fromlist=["x"]).campaign_app, name="campaign"
)

Format = Annotated[str, typer.Option("--format", help="text or json.")]


def _format(fmt: str) -> str:
    if fmt not in ("text", "json"):
        raise InputError(f"--format {fmt!r}: use text or json")
    return fmt


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "cli")


def _service() -> Any:
    from pilotline.cli.app import home
    from pilotline.share.service import Service

    h = home()
    return Service(h.path, h.store, h.plant)


def _partners() -> Any:
    from pilotline.cli.app import home
    from pilotline.share.partners import Partners

    h = home()
    return Partners(h.store, h.path)


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, default=str, ensure_ascii=False), highlight=False)


# -- partners ----------------------------------------------------------------------------------
@partner_app.command("add")
def partner_add(
    name: Annotated[str, typer.Argument(help="The partner's name (organisation).")],
    fmt: Format = "text",
) -> None:
    """Add a partner; prints its API key once (it is stored only as a hash)."""
    fmt = _format(fmt)
    key = _partners().add(name)
    if fmt == "json":
        print(json.dumps({"partner": name.strip(), "api_key": key}))
    else:
        out.print(f"Added partner {name.strip()}. Its API key (shown only now):\n{key}",
                  highlight=False)  # fmt: skip


@partner_app.command("key")
def partner_key(name: str, fmt: Format = "text") -> None:
    """Give a partner a new API key; the old one stops working at once."""
    key = _partners().new_key(name)
    if _format(fmt) == "json":
        print(json.dumps({"partner": name, "api_key": key}))
    else:
        out.print(f"New API key for {name} (shown only now):\n{key}", highlight=False)


@partner_app.command("list")
def partner_list(fmt: Format = "text") -> None:
    """The partners, their active grants and when they were added or removed."""
    p = _partners()
    partners, grants = p.all(), p.grants()
    count = {x.name: sum(g.partner == x.name for g in grants) for x in partners}
    if _format(fmt) == "json":
        _print_json([{"partner": x.name, "grants": count[x.name], "added": x.created_at,
                      "removed": x.removed_at} for x in partners])  # fmt: skip
        return
    table = Table(show_edge=False)
    for col in ("partner", "active grants", "added", "removed"):
        table.add_column(col)
    for x in partners:
        table.add_row(x.name, str(count[x.name]), f"{x.created_at:%Y-%m-%d}",
                      f"{x.removed_at:%Y-%m-%d}" if x.removed_at else "")  # fmt: skip
    out.print(table)


@partner_app.command("remove")
def partner_remove(name: str) -> None:
    """Remove a partner: its key stops working and its grants are revoked (its record of
    reads stays)."""
    n = _partners().remove(name)
    out.print(f"Removed {name}; {n} grant(s) revoked.")


# -- grants ------------------------------------------------------------------------------------
@share_app.command("grant")
def grant(
    name: Annotated[str, typer.Argument(help="The partner.")],
    submodel: Annotated[
        str | None,
        typer.Option(
            help="Semantic id, or nameplate, kpi, carbon-footprint, timeseries or ai-nameplate."
        ),
    ] = None,
    machine: Annotated[str | None, typer.Option(help="Only this machine's submodel.")] = None,
    product: Annotated[
        str | None, typer.Option(help="Only this product's carbon footprint.")
    ] = None,
    element: Annotated[
        list[str] | None,
        typer.Option(help="Only this element, by idShort path (repeat for more)."),
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="Last day of access, YYYY-MM-DD (plant's time zone).")
    ] = None,
    purpose: Annotated[str, typer.Option(help="What the partner may use it for.")] = "",
    onward: Annotated[bool, typer.Option(help="The partner may share it onward.")] = False,
    rule: Annotated[
        Path | None, typer.Option(help="Instead: one IDTA-01004 access rule as a JSON file.")
    ] = None,
    fmt: Format = "text",
) -> None:
    """Give a partner a submodel (all machines', one machine's or product's, or elements of it)."""
    from pilotline.cli.app import home

    day = None
    if expires is not None:
        try:
            day = dt.date.fromisoformat(expires)
        except ValueError:
            raise InputError(f"--expires {expires!r}: expected a date as YYYY-MM-DD") from None
    p = _partners()
    if rule is not None:
        if submodel or machine or element:
            raise InputError(
                "--rule gives the whole rule: leave out --submodel, --machine, --element"
            )
        try:
            doc = json.loads(rule.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise InputError(f"{rule}: not a JSON file ({exc})") from None
        _service().refuse_held(name, doc)
        g = p.add_rule(name, doc, expires=day, tz=home().plant().tz, purpose=purpose,
                       onward=onward, by=_who())  # fmt: skip
    else:
        if not submodel:
            raise InputError("say what to give: --submodel (or --rule FILE.json)")
        plant = home().plant()
        checked = p.rule_for(name, plant=plant, submodel=submodel, machine=machine,
                             product=product, paths=list(element or []), expires=day)  # fmt: skip
        _service().refuse_held(name, checked)
        g = p.grant(name, plant=plant, submodel=submodel, machine=machine,
                    product=product, paths=list(element or []), expires=day, purpose=purpose,
                    onward=onward, by=_who())  # fmt: skip
    if _format(fmt) == "json":
        _print_json({"grant": g.id, "partner": g.partner, "what": g.what, "rule": g.rule,
                     "expires": g.expires})  # fmt: skip
    else:
        until = f" until {g.expires} (inclusive)" if g.expires else ""
        out.print(f"Grant {g.id}: {g.partner} may read {g.what}{until}. It takes effect at once.")
    _warn_if_empty(g.partner, g.id, list(element or []))


def _element_paths(elements: list[dict[str, Any]], prefix: str = "") -> set[str]:
    """Every idShort path in API JSON elements (``A.B``, ``A[0].B``)."""
    out: set[str] = set()
    for e in elements:
        here = f"{prefix}.{e.get('idShort')}" if prefix else str(e.get("idShort"))
        out |= {here} | _children(e, here)
    return out


def _children(e: dict[str, Any], here: str) -> set[str]:
    value = e.get("value")
    if not isinstance(value, list):
        return set()
    if e.get("modelType") == "SubmodelElementCollection":
        return _element_paths(value, here)
    out: set[str] = set()
    if e.get("modelType") == "SubmodelElementList":
        for i, item in enumerate(value):
            out |= {f"{here}[{i}]"} | _children(item, f"{here}[{i}]")
    return out


def _warn_if_empty(partner: str, grant_id: str, elements: list[str]) -> None:
    """Say when a grant gives nothing with what there is now (a typing error in --element or
    --machine, or no data yet): it is kept all the same, for what may come."""
    try:
        view = _service().preview(partner)
    except PilotlineError:
        return
    if grant_id not in view["grants"]:
        err.print(f"Note: {grant_id} gives {partner} nothing with what there is now.",
                  highlight=False)  # fmt: skip
        return
    present: set[str] = set()
    for sm in view["submodels"]:
        present |= _element_paths(sm.get("submodelElements", []))
    missing = [p for p in elements if p not in present]
    if missing:
        err.print(f"Note: no element {', '.join(missing)} in what {grant_id} gives now; check "
                  "the idShort paths ('pilotline share preview').", highlight=False)  # fmt: skip


@share_app.command("grants")
def grants(
    name: Annotated[str | None, typer.Argument(help="Only this partner's.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Revoked grants too.")] = False,
    fmt: Format = "text",
) -> None:
    """The grants: partner, what, purpose, expiry."""
    rows = _partners().grants(name, active=not all_)
    if _format(fmt) == "json":
        _print_json([{"grant": g.id, "partner": g.partner, "what": g.what, "purpose": g.purpose,
                      "expires": g.expires, "onward": g.onward, "rule": g.rule,
                      "revoked": g.revoked_at, "not_applied": g.not_applied}
                     for g in rows])  # fmt: skip
        return
    table = Table(show_edge=False)
    for col in ("grant", "partner", "what", "purpose", "expires", "onward", "revoked"):
        table.add_column(col)
    for g in rows:
        what = g.what if g.not_applied is None else f"NOT APPLIED, gives nothing: {g.what}"
        table.add_row(g.id, g.partner, what, g.purpose, str(g.expires or ""),
                      "yes" if g.onward else "no",
                      f"{g.revoked_at:%Y-%m-%d %H:%M}" if g.revoked_at else "")  # fmt: skip
    out.print(table)
    for g in rows:
        if g.not_applied is not None and g.revoked_at is None:
            out.print(f"Grant {g.id} ({g.partner}) is not applied: {g.not_applied}. Revoke it "
                      f"(share revoke {g.partner!r} --grant {g.id}) and grant what it meant "
                      "again.", highlight=False)  # fmt: skip


@share_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="The partner.")],
    grant_id: Annotated[str | None, typer.Option("--grant", help="Only this grant.")] = None,
) -> None:
    """Revoke a partner's grants (or one); the running server refuses its next request."""
    n = _partners().revoke(name, grant_id)
    out.print(f"Revoked {n} grant(s) of {name}.")


@share_app.command("preview")
def preview(name: str, fmt: Format = "text") -> None:
    """Exactly what a partner receives now."""
    view = _service().preview(name)
    if _format(fmt) == "json":
        _print_json(view)
        return
    out.print(f"{name} receives (grants {', '.join(view['grants']) or 'none'}):", highlight=False)
    for sm in view["submodels"]:
        names = [e.get("idShort", "?") for e in sm.get("submodelElements", [])]
        out.print(f"  {sm['id']}  {sm.get('idShort', '')}: {', '.join(names)}", highlight=False)
    if not view["submodels"]:
        out.print("  nothing")
    for x in view["notApplied"]:
        out.print(f"Grant {x['grant']} is not applied and gives nothing: {x['why']}. Revoke it "
                  f"(share revoke {name!r} --grant {x['grant']}) and grant what it meant again.",
                  highlight=False)  # fmt: skip


@share_app.command("export")
def export(
    name: Annotated[str, typer.Argument(help="The partner whose grants say what goes in.")],
    aasx: Annotated[Path, typer.Option("--aasx", help="The AASX file to write.")],
) -> None:
    """Write what a partner's grants cover as an AASX package."""
    from pilotline.share.files import from_json, write_aasx

    view = _service().preview(name)
    if not view["submodels"]:
        raise InputError(f"{name} is granted nothing now, so there is nothing to export")
    from pilotline.share.repository import onward_of

    objects = from_json(view["assetAdministrationShells"], view["submodels"])
    write_aasx(aasx, objects)
    kept = sum(onward_of(sm) is False for sm in view["submodels"])
    out.print(f"Wrote {aasx}: {len(view['submodels'])} submodel(s) for {name}.")
    if kept:
        out.print(f"{kept} of them say {name} may not pass them on (OnwardSharing false, as "
                  "their grants state): the file is for that partner only.")  # fmt: skip


def _own_ids(h: Any) -> str | None:
    """The firm's identifier base (``urn:pilotline:<site>``), or None without a plant model."""
    from pilotline.share.model import Ids

    if not h.plant_file.exists():
        return None
    return Ids.of(h.plant()).base


@share_app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="A partner's AASX package.")]) -> None:
    """Add a partner's AASX (such as a supplier's carbon footprint) to the firm's model."""
    from pilotline.cli.app import home
    from pilotline.share.files import keep, read_aasx

    objects = read_aasx(file)
    h = home()
    kept = keep(h.path, objects, f"aasx:{file.name}", own=_own_ids(h))
    ids = sorted(o.id for o in objects)
    out.print(
        f"Imported {len(ids)} object(s) from {file.name} into {kept.parent}:", highlight=False
    )
    for i in ids:
        out.print(f"  {i}", highlight=False)
    _say_held(objects)


def _say_held(objects: Any) -> None:
    """Name what a partner gave without onward sharing: kept for our own use, never served."""
    from pilotline.share.files import to_json
    from pilotline.share.repository import held_by_shells, withheld

    doc = to_json(objects)
    shells, only = held_by_shells({sh["id"]: sh for sh in doc["assetAdministrationShells"]})
    held = [sm["id"] for sm in doc["submodels"] if withheld(sm) or sm["id"] in only]
    if shells:
        out.print(f"{len(shells)} shell(s) may not be passed on (OnwardSharing false), nor the "
                  "submodels only on them: kept for this firm's own use, never served to a "
                  "partner: " + ", ".join(sorted(shells)), highlight=False)  # fmt: skip
    if held:
        out.print(f"{len(held)} submodel(s) may not be passed on (OnwardSharing false): kept for "
                  "this firm's own use, never served to a partner nor granted: "
                  + ", ".join(held), highlight=False)  # fmt: skip


@share_app.command("pull")
def pull(
    url: Annotated[str, typer.Argument(help="The partner's AAS API, such as https://x/aas.")],
    submodel: Annotated[str, typer.Option(help="The submodel's identifier.")],
    key_env: Annotated[
        str, typer.Option(help="Environment variable holding the API key or access token.")
    ] = "PILOTLINE_PARTNER_KEY",
    every: Annotated[
        float | None,
        typer.Option(
            min=1, max=7 * 24 * 60, help="Pull again every this many minutes, until stopped."
        ),
    ] = None,
) -> None:
    """Fetch a submodel granted by a partner (for example its carbon footprint) into the firm's
    model; with --every, keep it fresh (or run it from cron or a systemd timer)."""
    import time

    from pilotline.cli.app import home
    from pilotline.errors import SourceUnavailable
    from pilotline.share.files import as_store, keep
    from pilotline.share.files import pull as fetch

    key = os.environ.get(key_env, "")
    if not key:
        raise InputError(f"set {key_env} to the key or token the partner gave you")
    reachable, first = True, True
    while True:
        try:
            sm = fetch(url, key=key, submodel_id=submodel)
        except SourceUnavailable as exc:
            if every is None:
                raise
            if reachable:  # say so once, and again when it is back
                err.print(f"{exc}; trying again every {every:g} min", highlight=False)
            reachable = False
        else:
            h = home()
            kept = keep(h.path, as_store([sm]), f"pull:{url}", own=_own_ids(h))
            if first:
                _say_held(as_store([sm]))
            if first or not reachable:  # the first pull, and again when it works again
                out.print(f"Pulled {sm.id} ({sm.id_short}) into {kept.parent}.", highlight=False)
            reachable, first = True, False
        if every is None:
            return
        time.sleep(every * 60)


# -- the record of reads -----------------------------------------------------------------------
@audit_app.command("verify")
def audit_verify(
    public_key: Annotated[
        str | None,
        typer.Option(help="The signing key's public half (base64, as keygen printed it, or a "
                          "PEM file); default: that of PILOTLINE_SHARE_SIGNING_KEY."),
    ] = None,
) -> None:  # fmt: skip
    """Check the record of partner reads and its signed heads: exit 0 when intact, 1 naming the
    first broken record."""
    from pilotline.cli.app import home
    from pilotline.share import anchor
    from pilotline.share.readlog import ChainBroken, newest_signed, verify

    h = home()
    public = anchor.parse_public(public_key) if public_key else None
    try:
        n = verify(h.store, h.path, public_key=public)
    except ChainBroken as exc:
        where = f"record {exc.seq}" if exc.seq else "its signed heads"
        err.print(f"The record of partner reads is broken at {where}: {exc.why}.",
                  highlight=False)  # fmt: skip
        raise typer.Exit(1) from None
    out.print(f"The record of partner reads is intact: {n:,} record(s).")
    signed = newest_signed(h.path)
    keyed = public is not None or anchor.signing_key(h.path) is not None
    if signed is not None:
        checked = "signature checked" if keyed else "signature NOT checked: no key given"
        out.print(f"Newest signed head: record {signed.seq} ({signed.at}, key {signed.key}; "
                  f"{checked}); {n - signed.seq:,} record(s) after it.", highlight=False)  # fmt: skip
    elif n:
        out.print(f"No signed head: set {anchor.ENV} where the server runs (see 'share audit "
                  "keygen'), or keep the newest hash elsewhere ('share audit anchor').")  # fmt: skip


@audit_app.command("anchor")
def audit_anchor(fmt: Format = "text") -> None:
    """Check the record, then print (and, with PILOTLINE_SHARE_SIGNING_KEY set, sign) its
    newest record's number and hash: hand it to the partner or keep it elsewhere; a later
    rewrite of any record up to it shows."""
    from pilotline.cli.app import home
    from pilotline.share import anchor
    from pilotline.share.readlog import ChainBroken, records, verify

    h = home()
    try:
        n = verify(h.store, h.path, require_signed=False)
    except ChainBroken as exc:
        err.print(f"Not anchored: the record of partner reads is broken at record {exc.seq}: "
                  f"{exc.why}.", highlight=False)  # fmt: skip
        raise typer.Exit(1) from None
    if not n:
        raise InputError("the record of partner reads is empty: nothing to anchor yet")
    last = records(h.store, limit=1, newest=True)[0]
    key = anchor.signing_key(h.path)
    signed = anchor.sign(h.path, key, int(last["seq"]), str(last["hash"])) if key else None
    view = {"seq": last["seq"], "hash": last["hash"], "signed": signed is not None}
    if signed is not None and key is not None:
        view |= {"at": signed.at, "signature": signed.sig, "key": signed.key,
                 "public_key": anchor.public_text(key.public_key())}  # fmt: skip
    if _format(fmt) == "json":
        _print_json(view)
        return
    out.print(f"Record {last['seq']}: {last['hash']}", highlight=False)
    if signed is not None:
        out.print(f"Signed {signed.at} with key {signed.key}: {signed.sig}", highlight=False)
    else:
        out.print(f"Not signed ({anchor.ENV} is not set): keep this line somewhere else.")


@audit_app.command("keygen")
def audit_keygen(
    file: Annotated[Path, typer.Argument(help="Where to write the key: outside the data "
                                              "directory, such as /etc/pilotline/audit.key.")],
) -> None:  # fmt: skip
    """Make an Ed25519 key to sign the record's heads with; prints its public half."""
    from pilotline.cli.app import home
    from pilotline.share import anchor

    public = anchor.keygen(file, home().path)
    out.print(f"Wrote {file} (readable by you only). Set {anchor.ENV}={file.resolve()} where "
              "'pilotline serve' runs. Its public key, to keep elsewhere and give "
              f"'share audit verify --public-key':\n{anchor.public_text(public)}",
              highlight=False)  # fmt: skip


@audit_app.command("list")
def audit_list(
    partner: Annotated[str | None, typer.Option(help="Only this partner's reads.")] = None,
    after: Annotated[int, typer.Option(min=0, help="Records after this number.")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 100,
    fmt: Format = "text",
) -> None:
    """Partner reads, oldest first: who, when, route, grants, what was returned, result."""
    from pilotline.cli.app import home
    from pilotline.share.readlog import records

    h = home()
    rows = records(h.store, h.path, partner=partner, limit=limit, after=after)
    if _format(fmt) == "json":
        _print_json(rows)
        return
    table = Table(show_edge=False)
    for col in ("#", "when (UTC)", "partner", "route", "grants", "returned", "result"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["seq"]), r["read_at"], r["partner"], r["route"],
                      ", ".join(r["grants"]), str(len(r["returned"])), str(r["status"]))  # fmt: skip
    out.print(table)
