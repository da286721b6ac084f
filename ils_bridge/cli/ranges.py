"""``range add|list``: the blocks of barcodes and card numbers each library issues."""

from __future__ import annotations

import click

from .app import App, echo_json, echo_table, json_option, pass_app


@click.group("range")
def range_group() -> None:
    """Code ranges: item and patron ranges never overlap, across all libraries."""


@range_group.command("add")
@click.argument("library")
@click.argument("kind", type=click.Choice(["item", "patron"]))
@click.argument("first")
@click.argument("last")
@pass_app
def range_add(app: App, library: str, kind: str, first: str, last: str) -> None:
    """Give LIBRARY the KIND codes FIRST..LAST, e.g. `range add XT item X0000000 X4999999`."""
    rng = app.cluster.add_range(library, kind, first, last)
    click.echo(f"added {kind} range {rng.label()} ({rng.size():,} codes) for {rng.library}")


@range_group.command("list")
@click.option("--library", help="Only this library.")
@json_option
@pass_app
def range_list(app: App, library: str | None, as_json: bool) -> None:
    """List code ranges."""
    ranges = app.cluster.list_ranges(library)
    if as_json:
        echo_json([
            {"library": r.library, "kind": r.kind, "first": r.format(r.first), "last": r.format(r.last),
             "prefix": r.prefix, "width": r.width, "size": r.size()}
            for r in ranges
        ])
        return
    echo_table(["library", "kind", "first", "last", "size"],
               [[r.library, r.kind, r.format(r.first), r.format(r.last), f"{r.size():,}"] for r in ranges])


COMMANDS = [range_group]
