"""``codes normalise KIND VALUE``: what the cluster would store for a scanned or typed code."""

from __future__ import annotations

import sys

import click

from ..codes import CodeError, CodeKind
from .app import App, echo_json, pass_app

KINDS = [k.value for k in CodeKind]


@click.group()
def codes() -> None:
    """Code normalisation (barcodes, cards, resident IDs, ISBN, ISSN, locations, libraries)."""


@codes.command("normalise")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("value")
@click.option("--json", "as_json", is_flag=True, help="Print kind, input and result as JSON.")
@pass_app
def codes_normalise(app: App, kind: str, value: str, as_json: bool) -> None:
    """Print the canonical form of VALUE as a KIND code, or why it is refused (exit 1)."""
    result = app.registries.normalisers.normalise(kind, value)
    if isinstance(result, CodeError):
        if as_json:
            echo_json({"kind": kind, "input": value, "ok": False, "error": result.code, "reason": result.reason})
        click.echo(f"invalid {kind}: {result.reason}", err=True)
        sys.exit(1)
    if as_json:
        echo_json({"kind": kind, "input": value, "ok": True, "value": result.value})
    else:
        click.echo(result.value)


@codes.command("steps")
@click.argument("kind", type=click.Choice(KINDS))
@pass_app
def codes_steps(app: App, kind: str) -> None:
    """Show the pipeline of KIND, plugin steps included."""
    for name, stage in app.registries.normalisers.steps(kind):
        click.echo(f"{stage:>8}  {name}")


# `normalize` for those who spell it so.
codes.add_command(codes_normalise, "normalize")

COMMANDS = [codes]
