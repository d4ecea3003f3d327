"""``pilotline user …``: users of the web app and their API tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

out = Console(soft_wrap=True)  # notes whole; tables still fit the terminal


user_app = typer.Typer(
    help="Users of the web app and their API tokens.", no_args_is_help=True, rich_markup_mode=None
)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help="admin, manager or operator.")] = "operator",
    line: Annotated[
        list[str] | None, typer.Option(help="A line an operator may see (repeat for more).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add a user; asks for the password (at least 10 characters)."""
    from pilotline.cli.app import home
    from pilotline.errors import InputError
    from pilotline.web import Users

    h = home()
    plant = h.plant()
    known = {ln.name for ln in plant.lines}
    unknown = sorted(set(line or []) - known)
    if unknown:
        raise InputError(
            f"no line called {', '.join(map(repr, unknown))}; plant.toml has {sorted(known)}"
        )
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = Users(h.store).add(name, password, role=role, lines=list(line or []))  # type: ignore[arg-type]
    out.print(
        f"Added {user.username} ({user.role}{', lines: ' + ', '.join(user.lines) if user.lines else ''})."
    )


@user_app.command("list")
def user_list() -> None:
    """List the users, their roles and lines."""
    from pilotline.cli.app import home
    from pilotline.web import Users

    table = Table(show_edge=False)
    for col in ("user", "role", "lines"):
        table.add_column(col)
    for u in Users(home().store).all_users():
        table.add_row(
            u.username, u.role, ", ".join(u.lines) or ("all" if u.role != "operator" else "none")
        )
    out.print(table)


@user_app.command("token")
def user_token(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "script",
) -> None:
    """Create an API token (Authorization: Bearer …); it is shown once."""
    from pilotline.cli.app import home
    from pilotline.web import Users

    token = Users(home().store).new_token(name, label)
    out.print(token, highlight=False)


@user_app.command("tokens")
def user_tokens(
    name: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
) -> None:
    """List API tokens: id, user, what for, created (the tokens themselves are never stored)."""
    from pilotline.cli.app import home
    from pilotline.web import Users

    table = Table(show_edge=False)
    for col in ("id", "user", "name", "created (UTC)"):
        table.add_column(col)
    for t in Users(home().store).tokens(name):
        table.add_row(t["id"], t["username"], t["name"], t["created_at"][:16])
    out.print(table)


@user_app.command("revoke")
def user_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id from 'pilotline user tokens'.")],
) -> None:
    """Revoke an API token: requests with it are refused from now on."""
    from pilotline.cli.app import home
    from pilotline.web import Users

    Users(home().store).revoke(token_id)
    out.print(f"Revoked token {token_id}.")


@user_app.command("remove")
def user_remove(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Remove a user and their API tokens (not the last admin)."""
    from pilotline.cli.app import home
    from pilotline.web import Users

    Users(home().store).remove(name)
    out.print(f"Removed {name}.")
