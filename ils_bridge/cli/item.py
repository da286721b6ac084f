"""``item add|import|list``: items (册) with cluster-unique barcodes (R3)."""

from __future__ import annotations

from pathlib import Path

import click

from .app import App, echo_json, echo_table, json_option, pass_app
from .imports import import_options, run_import


@click.group()
def item() -> None:
    """Items: one barcode each, never repeated anywhere in the cluster."""


@item.command("add")
@click.argument("barcode")
@click.option("--library", required=True, help="Owning library.")
@click.option("--title", help="Title (a brief record until the catalogue has the full one).")
@click.option("--author")
@click.option("--isbn")
@click.option("--location", help="Location code within the library, e.g. 流通库.")
@click.option("--item-type", default="book", show_default=True)
@json_option
@pass_app
def item_add(
    app: App, barcode: str, library: str, title: str | None, author: str | None, isbn: str | None,
    location: str | None, item_type: str, as_json: bool,
) -> None:
    """Register one item with BARCODE."""
    result = app.cluster.add_item(barcode, library=library, title=title, author=author, isbn=isbn,
                                  location=location, item_type=item_type)
    if as_json:
        echo_json(result)
    else:
        click.echo(f"added item {result['barcode']} to {result['library']}")


@item.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@import_options
@pass_app
def item_import(
    app: App, file: Path, library: str, encoding: str | None, dry_run: bool, report_path: Path | None,
    strict: bool, as_json: bool,
) -> None:
    """Register items from a CSV FILE (columns: barcode, title; optional author, isbn, location, item_type)."""
    cluster = app.cluster
    run_import(
        file, encoding=encoding, needed=["barcode", "title"],
        importer=lambda rows, progress: cluster.import_items(
            rows, library=library, dry_run=dry_run, progress=progress, source=f"item import {file.name}"),
        report_path=report_path, as_json=as_json, strict=strict, noun="items",
    )


@item.command("list")
@click.option("--library")
@click.option("--limit", default=100, show_default=True)
@json_option
@pass_app
def item_list(app: App, library: str | None, limit: int, as_json: bool) -> None:
    """List items."""
    rows = app.cluster.list_items(library, limit)
    if as_json:
        echo_json(rows)
        return
    echo_table(["barcode", "title", "home", "location", "current", "status"],
               [[r["barcode"], r["title"], r["home"], r["location"], r["current"], r["status"]] for r in rows])


@item.command("withdraw")
@click.argument("barcode")
@click.option("--reason", default="withdrawn", show_default=True)
@pass_app
def item_withdraw(app: App, barcode: str, reason: str) -> None:
    """Withdraw an item (剔旧); its barcode stays reserved forever."""
    app.cluster.withdraw_item(barcode, reason=reason)
    click.echo(f"withdrew item {barcode.strip()}; the barcode will never be issued again")


COMMANDS = [item]
