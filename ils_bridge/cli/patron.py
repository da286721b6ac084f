"""``patron add|import|list``: readers with cluster-unique cards; ID numbers only as keyed hashes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from .app import App, echo_json, echo_table, json_option, pass_app
from .imports import import_options, run_import


@click.group()
def patron() -> None:
    """Patrons (读者): one card number each, never repeated; one resident ID per patron."""


@patron.command("add")
@click.argument("card")
@click.option("--library", required=True, help="Home library.")
@click.option("--name", required=True)
@click.option("--resident-id", help="18-digit resident ID (身份证号); stored only as a keyed hash.")
@click.option("--category", default="adult", show_default=True)
@click.option("--expires-on", type=click.DateTime(["%Y-%m-%d"]))
@json_option
@pass_app
def patron_add(
    app: App, card: str, library: str, name: str, resident_id: str | None, category: str,
    expires_on: dt.datetime | None, as_json: bool,
) -> None:
    """Register a patron with card number CARD (which may itself be a resident ID)."""
    result = app.cluster.add_patron(card, library=library, name=name, resident_id=resident_id,
                                    category=category, expires_on=expires_on.date() if expires_on else None)
    if as_json:
        echo_json(result)
    else:
        click.echo(f"added patron {result['card']} to {result['library']}")


@patron.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@import_options
@pass_app
def patron_import(
    app: App, file: Path, library: str, encoding: str | None, dry_run: bool, report_path: Path | None,
    strict: bool, as_json: bool,
) -> None:
    """Register patrons from a CSV FILE (columns: card, name; optional resident_id, category, expires_on)."""
    cluster = app.cluster
    run_import(
        file, encoding=encoding, needed=["card", "name"],
        importer=lambda rows, progress: cluster.import_patrons(
            rows, library=library, dry_run=dry_run, progress=progress, source=f"patron import {file.name}"),
        report_path=report_path, as_json=as_json, strict=strict, noun="patrons",
    )


@patron.command("list")
@click.option("--library")
@click.option("--limit", default=100, show_default=True)
@json_option
@pass_app
def patron_list(app: App, library: str | None, limit: int, as_json: bool) -> None:
    """List patrons (resident IDs masked)."""
    rows = app.cluster.list_patrons(library, limit)
    if as_json:
        echo_json(rows)
        return
    echo_table(["card", "name", "home", "category", "status", "resident ID"],
               [[r["card"], r["name"], r["home"], r["category"], r["status"], r["resident_id"]] for r in rows])


COMMANDS = [patron]
