"""``z3950 target add|list|remove`` and ``z3950 search``: Z39.50 targets for copy cataloguing."""

from __future__ import annotations

import asyncio
import sys

import click

from ..copycat.profiles import SYNTAXES, TargetProfile, TargetProfiles, parse_address
from ..copycat.service import TargetOutcome, brief, search_targets
from ..errors import HubError, InvalidInput
from .app import App, echo_json, echo_table, json_option, pass_app


def _profiles(app: App) -> TargetProfiles:
    return TargetProfiles(app.store)


@click.group()
def z3950() -> None:
    """Z39.50 targets that cataloguers copy records from (套录), and searches on them."""


@z3950.group("target")
def target() -> None:
    """Register, list and remove target profiles."""


@target.command("add")
@click.argument("name")
@click.argument("address", metavar="HOST:PORT/DB")
@click.option(
    "--syntax",
    type=click.Choice([*SYNTAXES, "cnmarc", "marc21"]),
    default="unimarc",
    show_default=True,
    help="Record syntax to ask for: unimarc (CNMARC) or usmarc (MARC21).",
)
@click.option(
    "--record-encoding",
    default="auto",
    show_default=True,
    metavar="ENC",
    help="Charset the target's records are really in: auto (detect), utf-8, gb18030 "
    "(GB2312/GBK targets too), marc-8.",
)
@click.option(
    "--term-encoding",
    default="utf-8",
    show_default=True,
    metavar="ENC",
    help="Charset to send query terms in (gb18030 for most older Chinese targets).",
)
@click.option("--user", help="User name, if the target needs one.")
@click.option("--password", help="Password (stored so it can be sent; never listed).")
@click.option(
    "--negotiate/--no-negotiate",
    default=True,
    show_default=True,
    help="Propose Z39.50 character-set negotiation (some old targets choke on it).",
)
@click.option(
    "--timeout",
    default=15.0,
    show_default=True,
    type=float,
    metavar="SECONDS",
    help="Give up on this target after this long.",
)
@click.option(
    "--kind", default="z3950", show_default=True, help="Catalogue source plugin that talks to it."
)
@json_option
@pass_app
def target_add(
    app: App,
    name: str,
    address: str,
    syntax: str,
    record_encoding: str,
    term_encoding: str,
    user: str | None,
    password: str | None,
    negotiate: bool,
    timeout: float,
    kind: str,
    as_json: bool,
) -> None:
    """Register target NAME at HOST:PORT/DB."""
    if kind not in app.registries.catalogue_sources:
        known = ", ".join(app.registries.catalogue_sources.kinds()) or "none"
        raise InvalidInput(f"no catalogue source plugin of kind {kind!r} (installed: {known})")
    host, port, database = parse_address(address)
    if password and not user:
        raise InvalidInput("--password needs --user")
    p = _profiles(app).add(
        TargetProfile(
            name=name,
            host=host,
            port=port,
            database=database,
            syntax=syntax,
            record_encoding=record_encoding,
            term_encoding=term_encoding,
            negotiate=negotiate,
            user=user,
            password=password,
            timeout=timeout,
            kind=kind,
        )
    )
    if as_json:
        echo_json(p.as_json())
    else:
        click.echo(
            f"added target {p.name} at {p.address} ({p.syntax}, records "
            f"{p.record_encoding}, terms {p.term_encoding})"
        )


@target.command("list")
@json_option
@pass_app
def target_list(app: App, as_json: bool) -> None:
    """List target profiles (passwords are never shown)."""
    ps = _profiles(app).list()
    if as_json:
        echo_json([p.as_json() for p in ps])
        return
    echo_table(
        ["name", "address", "syntax", "records", "terms", "user", "timeout", "kind"],
        [
            [
                p.name,
                p.address,
                p.syntax,
                p.record_encoding,
                p.term_encoding,
                (p.user or "") + (" (password set)" if p.password else ""),
                f"{p.timeout:g}s",
                p.kind,
            ]
            for p in ps
        ],
    )


@target.command("remove")
@click.argument("name")
@pass_app
def target_remove(app: App, name: str) -> None:
    """Remove a target profile."""
    _profiles(app).remove(name)
    click.echo(f"removed target {name.strip()}")


def echo_outcome(outcome: TargetOutcome, show_records: bool = True) -> None:
    """One target's result as cataloguers read it."""
    if not outcome.ok:
        click.echo(f"{outcome.target} ({outcome.address}): failed: {outcome.error}")
        return
    click.echo(
        f"{outcome.target} ({outcome.address}): {outcome.hits} hit(s), "
        f"{len(outcome.records)} fetched ({outcome.query})"
    )
    if not show_records:
        return
    for i, rec in enumerate(outcome.records, start=1):
        b = brief(rec)
        if b.title is None:
            click.echo(f"  {i:>3}. (no record: {b.problem})")
            continue
        parts = [b.title]
        if b.author:
            parts.append(b.author)
        line = " / ".join(parts)
        extra = [x for x in (b.publisher, str(b.year) if b.year else None) if x]
        if extra:
            line += " — " + ", ".join(extra)
        if b.isbns:
            line += "  ISBN " + " ".join(b.isbns)
        click.echo(f"  {i:>3}. {line}")


def run_search(
    app: App, names: tuple[str, ...], queries: list[str], max_records: int, timeout: float | None
) -> list[TargetOutcome]:
    profiles = _profiles(app).select(list(names))
    registry = app.registries.catalogue_sources
    return asyncio.run(
        search_targets(profiles, registry, queries, max_records=max_records, timeout=timeout)
    )


@z3950.command("search")
@click.argument("name")
@click.argument("pqf")
@click.option(
    "--target",
    "extra",
    multiple=True,
    metavar="NAME",
    help="Search this target too (repeatable); NAME 'all' searches every target.",
)
@click.option(
    "--max",
    "max_records",
    default=10,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="Records to fetch from each target.",
)
@click.option("--timeout", type=float, metavar="SECONDS", help="Override each target's timeout.")
@json_option
@pass_app
def z3950_search(
    app: App,
    name: str,
    pqf: str,
    extra: tuple[str, ...],
    max_records: int,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Search target NAME (or several: 'a,b', 'all') with a PQF query, e.g.
    '@attr 1=7 9787020002207' or '@attr 1=4 红楼梦'."""
    outcomes = run_search(app, (name, *extra), [pqf], max_records, timeout)
    if as_json:
        echo_json(
            {
                "query": pqf,
                "targets": [o.as_json() for o in outcomes],
                "hits": sum(o.hits for o in outcomes),
            }
        )
    else:
        for o in outcomes:
            echo_outcome(o)
    if outcomes and not any(o.ok for o in outcomes):
        if not as_json:
            sys.stdout.flush()
        raise HubError(
            "no target answered"
            if len(outcomes) > 1
            else f"{outcomes[0].target}: {outcomes[0].error}"
        )


COMMANDS = [z3950]
