"""``catalogue copy``: copy cataloguing (套录) from registered targets into the catalogue.

Added to the ``catalogue`` group by :func:`register` (the group lives in ``cli/catalogue.py``).
"""

from __future__ import annotations

import click

from ..catalogue.store import Catalogue
from ..copycat.service import copy_records, isbn_queries
from ..errors import HubError, InvalidInput
from .app import App, echo_json, pass_app
from .z3950 import echo_outcome, run_search


@click.command("copy")
@click.argument("name")
@click.option(
    "--isbn", help="ISBN-10 or ISBN-13 (the other form is tried when this finds nothing)."
)
@click.option("--query", "pqf", metavar="PQF", help="A PQF query, e.g. '@attr 1=4 红楼梦'.")
@click.option(
    "--target",
    "extra",
    multiple=True,
    metavar="NAME",
    help="Copy from this target too (repeatable); NAME 'all' uses every target.",
)
@click.option(
    "--max",
    "max_records",
    default=10,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Records to fetch from each target.",
)
@click.option("--timeout", type=float, metavar="SECONDS", help="Override each target's timeout.")
@click.option("--dry-run", is_flag=True, help="Fetch and match everything; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def catalogue_copy(
    app: App,
    name: str,
    isbn: str | None,
    pqf: str | None,
    extra: tuple[str, ...],
    max_records: int,
    timeout: float | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Fetch records from target NAME ('a,b' or 'all' for several) and import them: converted
    to UTF-8, matched against the catalogue and merged onto the record already there instead
    of duplicating it."""
    if (isbn is None) == (pqf is None):
        raise click.UsageError("give exactly one of --isbn and --query")
    queries = isbn_queries(isbn) if isbn is not None else [pqf or ""]
    if not queries[0].strip():
        raise InvalidInput("the query is empty")
    catalogue = Catalogue(app.store)
    outcomes = run_search(app, (name, *extra), queries, max_records, timeout)
    report = copy_records(catalogue, outcomes, dry_run=dry_run)
    data = report.as_json()
    if as_json:
        echo_json(data)
    else:
        for o in outcomes:
            echo_outcome(o)
        for f in report.failures:
            click.echo(f"  {f.target} record {f.record}: not imported: {f.reason}")
        if report.summary is not None:
            for failure in report.summary.failures[:20]:
                click.echo(f"  {failure.file}: rejected: {failure.reason}")
        what = "would be " if dry_run else ""
        click.echo(
            f"{data['new']} new, {data['merged']} merged, {data['rejected']} rejected "
            f"({what}imported from {sum(1 for o in outcomes if o.ok)} target(s))"
        )
    if not any(o.ok for o in outcomes):
        raise HubError(
            "no target answered"
            if len(outcomes) > 1
            else f"{outcomes[0].target}: {outcomes[0].error}"
        )


def register(cli: click.Group) -> None:
    """Add ``copy`` to the ``catalogue`` group (made here if it is not there)."""
    group = cli.commands.get("catalogue")
    if not isinstance(group, click.Group):
        group = click.Group("catalogue", help="The unified catalogue.")
        cli.add_command(group)
    group.add_command(catalogue_copy)
