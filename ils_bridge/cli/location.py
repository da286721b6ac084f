"""``location add|list``: shelving locations and collection codes (馆藏地), unique as LIB-LOC."""

from __future__ import annotations

import click

from .app import App, echo_json, echo_table, json_option, pass_app


@click.group()
def location() -> None:
    """Locations (馆藏地 / collection codes) of each library."""


@location.command("add")
@click.argument("library")
@click.argument("code")
@click.option("--name", help="Display name (default: the code).")
@click.option("--not-loanable", is_flag=True, help="Reference only (阅览).")
@pass_app
def location_add(app: App, library: str, code: str, name: str | None, not_loanable: bool) -> None:
    """Add location CODE to LIBRARY; it is addressed cluster-wide as LIBRARY-CODE."""
    qualified = app.cluster.add_location(library, code, name=name, loanable=not not_loanable)
    click.echo(f"added location {qualified}")


@location.command("list")
@click.option("--library", help="Only this library.")
@json_option
@pass_app
def location_list(app: App, library: str | None, as_json: bool) -> None:
    """List locations."""
    rows = app.cluster.list_locations(library)
    if as_json:
        echo_json(rows)
        return
    echo_table(["location", "name", "loanable"], [[r["qualified"], r["name"], "yes" if r["loanable"] else "no"] for r in rows])


COMMANDS = [location]
