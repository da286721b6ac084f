"""``terminal add|list|remove``: self-check machines and their credentials (SIP2 login)."""

from __future__ import annotations

import click

from ..terminals import ENCODINGS, Terminals
from .app import App, echo_json, echo_table, json_option, pass_app


def _terminals(app: App) -> Terminals:
    return Terminals(app.store, app.registries.normalisers)


@click.group()
def terminal() -> None:
    """SIP2 terminals (self-check machines, staff clients), each bound to one library."""


@terminal.command("add")
@click.argument("login")
@click.option("--password", required=True, help="SIP2 login password (CO); stored as a salted scrypt hash.")
@click.option("--library", required=True, help="The library the machine stands in.")
@click.option("--encoding", type=click.Choice(ENCODINGS), default="utf-8", show_default=True)
@click.option("--allow", multiple=True, metavar="CIDR", help="Source addresses allowed (repeatable); default any.")
@click.option("--terminator", type=click.Choice(["CR", "CRLF"]), default="CR", show_default=True)
@click.option("--mobile", is_flag=True, help="May act for other libraries through AO/AP (e.g. a book bus).")
@json_option
@pass_app
def terminal_add(app: App, login: str, password: str, library: str, encoding: str, allow: tuple[str, ...],
                 terminator: str, mobile: bool, as_json: bool) -> None:
    """Register a terminal that logs in (SIP2 93) as LOGIN."""
    t = _terminals(app).add(login, password=password, library=library, encoding=encoding, allow=list(allow),
                            terminator=terminator, mobile=mobile)
    if as_json:
        echo_json(t.as_json())
    else:
        click.echo(f"added terminal {t.login} at {t.library} ({t.encoding})")


@terminal.command("list")
@json_option
@pass_app
def terminal_list(app: App, as_json: bool) -> None:
    """List terminals."""
    ts = _terminals(app).list()
    if as_json:
        echo_json([t.as_json() for t in ts])
        return
    echo_table(["login", "library", "encoding", "allowed", "mobile", "status"],
               [[t.login, t.library, t.encoding, ", ".join(t.allowed) or "any", "yes" if t.mobile else "no", t.status]
                for t in ts])


@terminal.command("remove")
@click.argument("login")
@pass_app
def terminal_remove(app: App, login: str) -> None:
    """Disable a terminal (its login can no longer connect)."""
    _terminals(app).remove(login)
    click.echo(f"disabled terminal {login}")


@terminal.command("password")
@click.argument("login")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@pass_app
def terminal_password(app: App, login: str, password: str) -> None:
    """Change a terminal's password."""
    _terminals(app).change_password(login, password)
    click.echo(f"changed the password of {login}")


COMMANDS = [terminal]
