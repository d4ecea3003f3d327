"""``pilotline hub …``: a campaign coordinator's hub — disclosure control for its tables, the hub
database, its HTTP API and a simulated region for a demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

from pilotline.errors import InputError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

hub_app = typer.Typer(
    help="Campaign hub (coordinators): firms' shared results and regional benchmarks.",
    no_args_is_help=True,
    rich_markup_mode=None,
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
