"""``pilotline share campaign …``: send the campaign hub what the firm agrees to, item by item;
list what the hub holds; withdraw it."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pilotline.errors import InputError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

campaign_app = typer.Typer(
    help="Campaign hub: send assessments, pilot outcomes and benchmark figures, with consent.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

Hub = Annotated[str, typer.Option("--hub", envvar="PILOTLINE_HUB_URL", help="The hub's address.")]
FirmId = Annotated[
    str, typer.Option("--firm", envvar="PILOTLINE_HUB_FIRM", help="Your firm's id at the hub.")
]
Format = Annotated[str, typer.Option("--format", help="text or json.")]


def _client(hub: str, firm: str) -> Any:
    from pilotline.cli.app import home
    from pilotline.hub.firm import HubClient, key

    return HubClient(hub, firm, key(home().path, create=False))


def _format(fmt: str) -> str:
    if fmt not in ("text", "json"):
        raise InputError(f"--format {fmt!r}: use text or json")
    return fmt


@campaign_app.command("key")
def key_() -> None:
    """Your firm's public hub key (made on first use): give it to the campaign's coordinator."""
    from pilotline.cli.app import home
    from pilotline.hub.firm import public_key

    out.print(public_key(home().path))


@campaign_app.command("send")
def send(
    hub: Hub,
    firm: FirmId,
    consent: Annotated[
        list[str] | None,
        typer.Option(
            "--consent",
            help="Agree to this item without being asked (repeat; 'all' for every item). "
            "Items not named are asked about, or not sent with --no-input.",
        ),
    ] = None,
    person: Annotated[str, typer.Option(help="Who gives consent (kept in the hub's ledger).")] = "",
    no_input: Annotated[bool, typer.Option("--no-input", help="Ask nothing.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, send nothing.")] = False,
) -> None:
    """Show exactly what would leave, ask consent item by item, send only what was agreed."""
    from pilotline.cli.app import home
    from pilotline.hub.firm import candidates, with_consent

    h = home()
    client = _client(hub, firm)
    items = candidates(h.store, h.plant())
    if not items:
        out.print("Nothing to send yet: no assessment rounds, pilot decisions or monthly figures.")
        return
    text = client.consent_text()
    out.print(f"Consent text (version {text['version']}):\n{text['text']}\n", highlight=False)
    named = set(consent or [])
    unknown = named - {i["id"] for i in items} - {"all"}
    if unknown:
        raise InputError(
            f"--consent {sorted(unknown)}: no such item; the items are "
            f"{', '.join(i['id'] for i in items)}"
        )
    who = person.strip() or _user()
    agreed = []
    for item in items:
        out.print(f"— {item['id']} ({item['kind']}), exactly as it would be sent:", highlight=False)
        out.print_json(json.dumps(item["content"], ensure_ascii=False), highlight=False)
        if "all" in named or item["id"] in named:
            yes = True
        elif no_input:
            yes = False
        else:
            yes = typer.confirm(f"Send {item['id']} to {hub}?", default=False)
        if yes:
            agreed.append(with_consent(item, text, who))
    if dry_run or not agreed:
        out.print(
            "Nothing was sent."
            if not agreed
            else f"Dry run: {len(agreed)} item(s) agreed, none sent."
        )
        return
    received = client.submit(agreed)
    out.print(f"Sent to {hub}: {', '.join(received)}.", highlight=False)


def _user() -> str:
    import getpass
    import os

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


@campaign_app.command("sent")
def sent(hub: Hub, firm: FirmId, fmt: Format = "text") -> None:
    """Everything the hub holds from your firm, as the hub has it."""
    items = _client(hub, firm).held()
    if _format(fmt) == "json":
        out.print_json(json.dumps(items, ensure_ascii=False), highlight=False)
        return
    table = Table(show_edge=False)
    for col in ("item", "kind", "received (UTC)"):
        table.add_column(col)
    for i in items:
        table.add_row(i["id"], i["kind"], i["received_at"])
    out.print(table if items else "The hub holds nothing from your firm.")


@campaign_app.command("withdraw")
def withdraw(
    hub: Hub,
    firm: FirmId,
    item: Annotated[list[str] | None, typer.Option("--item", help="Withdraw this item.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Withdraw everything.")] = False,
) -> None:
    """Withdraw items: the hub erases them and the next benchmark release leaves them out."""
    if bool(item) == all_:
        raise InputError("say what to withdraw: --item ID (repeat for more) or --all")
    gone = _client(hub, firm).withdraw(None if all_ else list(item or []))
    out.print(f"Withdrawn and erased at the hub: {', '.join(gone) or 'nothing'}.", highlight=False)


@campaign_app.command("compare")
def compare_(
    hub: Hub,
    firm: FirmId,
    period: Annotated[
        str | None, typer.Option(help="Month, YYYY-MM (default: the latest).")
    ] = None,
    fmt: Format = "text",
) -> None:
    """Your KPIs beside the hub's published figures for firms like yours (nothing is sent)."""
    from pilotline.cli.app import home
    from pilotline.hub.benchmark import Figures, Firm, compare
    from pilotline.hub.firm import benchmark_item

    h = home()
    client = _client(hub, firm)
    me = client.me()
    item = benchmark_item(h.store, h.plant())
    if item is None:
        raise InputError("no monthly figures of yours yet: import machine data first")
    own = [Figures.parse(f) for f in item["content"]["figures"]]
    month = period or max(f.period for f in own)
    view = compare(
        client.benchmark(),
        firm=Firm(me["id"], me["sector"], me["size_band"], me["region"]),
        own=own,
        period=month,
    )
    if _format(fmt) == "json":
        out.print_json(json.dumps(view), highlight=False)
        return
    yours, peers = view["yours"], view["peers"]

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:.0%}"

    if peers is None:
        out.print(f"{month}: your OEE {pct(yours['oee'])}; the hub has published nothing for "
                  "this month yet.")  # fmt: skip
        return
    out.print(
        f"{month}: your OEE {pct(yours['oee'])}; {view['peer_group']} in the campaign: "
        f"{pct(peers['oee'])} ({view['peer_firms']} firms)."
    )
    for k in ("availability", "performance", "quality", "scrap_rate"):
        out.print(f"  {k.replace('_', ' ')}: yours {pct(yours[k])}, theirs {pct(peers[k])}")
