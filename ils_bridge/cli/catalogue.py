"""``catalogue import|search|show|stats``: the unified catalogue (统一编目, R4)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import click

from ..catalogue.model import Charset
from ..catalogue.store import Catalogue, ImportSummary, SearchQuery
from ..catalogue.writer import MarcWriteError, to_iso2709, to_marcxml
from ..errors import HubError
from .app import App, echo_json, echo_table, json_option, pass_app

SHOWN = 20  # failures listed on the terminal; --report has them all


def _catalogue(app: App) -> Catalogue:
    return Catalogue(app.store, app.cluster)


@click.group()
def catalogue() -> None:
    """The unified catalogue: one MARC record per work for the whole cluster."""


@catalogue.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format", "syntax", type=click.Choice(["iso2709", "marcxml"]), help="Default: detected."
)
@click.option(
    "--encoding",
    metavar="ENC",
    help="Record bytes are in ENC (utf-8, gb18030, gbk, gb2312, marc-8): overrides what the "
    "records declare and what detection finds.",
)
@click.option(
    "--flavour", type=click.Choice(["cnmarc", "unimarc", "marc21"]), help="Default: detected."
)
@click.option("--dry-run", is_flag=True, help="Read, check and match everything; write nothing.")
@click.option(
    "--register-items",
    is_flag=True,
    help="Register the items in holdings fields (CNMARC 905/906, MARC21 852/952).",
)
@click.option(
    "--library",
    metavar="CODE",
    help="With --register-items: library of holdings fields that name none.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every rejected record and refused item to this CSV file.",
)
@click.option("--strict", is_flag=True, help="Exit 1 when any record was rejected.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@pass_app
def catalogue_import(
    app: App,
    files: tuple[Path, ...],
    syntax: str | None,
    encoding: str | None,
    flavour: str | None,
    dry_run: bool,
    register_items: bool,
    library: str | None,
    report_path: Path | None,
    strict: bool,
    as_json: bool,
) -> None:
    """Import MARC records from FILE… (ISO 2709 or MARCXML/CNMARC-XML), merging duplicates.

    A record whose ISBN/ISSN (or, lacking those, normalised title + author + year) matches a
    record already in the catalogue — or earlier in these files — is merged into it instead of
    being added again. Bad records are reported with their position and never stop the import.
    """
    for f in files:
        if not f.exists():
            raise click.BadParameter(f"{f} does not exist", param_hint="FILE")
    if encoding:
        try:
            Charset.from_label(encoding)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--encoding") from None
    cat = _catalogue(app)
    tty = sys.stderr.isatty()

    def progress(done: int) -> None:
        if tty:
            click.echo(f"\rimporting: {done:,} records read", err=True, nl=False)

    summary = cat.import_records(
        list(files),
        format=syntax,
        encoding=encoding,
        flavour=flavour,
        dry_run=dry_run,
        register_items=register_items,
        library_default=library,
        progress=progress,
    )
    if tty:
        click.echo("", err=True)
    if report_path:
        _write_report(summary, report_path)
    if as_json:
        # failures beyond the first 1,000 are in --report
        echo_json(
            {**summary.as_json(limit=1000), "report": str(report_path) if report_path else None}
        )
    else:
        _print_summary(summary, report_path)
    if strict and summary.rejected:
        raise SystemExit(1)


def _print_summary(summary: ImportSummary, report_path: Path | None) -> None:
    verb = "would import" if summary.dry_run else "imported"
    files = len(summary.files)
    click.echo(
        f"{verb} {summary.read:,} records from {files} file{'s' if files != 1 else ''}: "
        f"{summary.new:,} new, {summary.merged:,} merged into existing records, "
        f"{summary.rejected:,} rejected"
    )
    for failure in summary.failures[:SHOWN]:
        click.echo(f"  {failure.file}: {failure.position}: {failure.reason}")
    if len(summary.failures) > SHOWN:
        more = len(summary.failures) - SHOWN
        hint = "" if report_path else " (use --report FILE.csv for all)"
        click.echo(f"  … and {more:,} more{hint}")
    if summary.items_registered or summary.items_refused:
        verb = "would register" if summary.dry_run else "registered"
        click.echo(
            f"{verb} {summary.items_registered:,} items; {len(summary.items_refused):,} refused"
        )
        for r in summary.items_refused[:SHOWN]:
            click.echo(f"  {r.file}: {r.position}: item {r.barcode}: {r.reason}")
        if len(summary.items_refused) > SHOWN:
            click.echo(f"  … and {len(summary.items_refused) - SHOWN:,} more")


def _write_report(summary: ImportSummary, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel reads UTF-8
        writer = csv.writer(fh)
        writer.writerow(["file", "record", "offset", "line", "outcome", "barcode", "reason"])
        for f in summary.failures:
            p = f.position
            writer.writerow([f.file, p.index, p.offset, p.line, "rejected", "", f.reason])
        for r in summary.items_refused:
            p = r.position
            writer.writerow(
                [r.file, p.index, p.offset, p.line, "item refused", r.barcode, r.reason]
            )


@catalogue.command("search")
@click.option("--title")
@click.option("--author")
@click.option("--isbn", help="ISBN-10 or ISBN-13, hyphens or not.")
@click.option("--issn")
@click.option("--clc", help="中图法 class number (exact).")
@click.option("--publisher")
@click.option("--subject")
@click.option("--year")
@click.option("--local-number", help="Record number (001).")
@click.option("--any", "any_", help="Title, author, publisher, subject, ISBN or ISSN.")
@click.option("--limit", default=50, show_default=True)
@json_option
@pass_app
def catalogue_search(
    app: App,
    title: str | None,
    author: str | None,
    isbn: str | None,
    issn: str | None,
    clc: str | None,
    publisher: str | None,
    subject: str | None,
    year: str | None,
    local_number: str | None,
    any_: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Find records; every option given must match. Chinese terms match inside titles
    (红楼 finds 红楼梦)."""
    query = SearchQuery(
        title=title,
        author=author,
        isbn=isbn,
        issn=issn,
        clc=clc,
        publisher=publisher,
        subject=subject,
        year=year,
        local_number=local_number,
        any=any_,
    )
    if all(v is None for v in vars(query).values()):
        raise click.UsageError("give at least one search option (see --help)")
    cat = _catalogue(app)
    tree = query.to_query()
    ids = cat.search(tree, limit=limit)
    hits = cat.summaries(ids)
    if as_json:
        total = cat.search_count(tree) if len(ids) == limit else len(ids)
        echo_json({"total": total, "records": hits})
        return
    echo_table(
        ["id", "title", "author", "isbn", "year"],
        [
            [h["id"], h["title"], h["author"] or "", ", ".join(h["isbns"]), h["year"] or ""]
            for h in hits
        ],
    )
    if len(ids) == limit:
        click.echo(f"(first {limit} of {cat.search_count(tree):,}; use --limit for more)")


@catalogue.command("show")
@click.argument("bib_id", type=int)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "marcxml", "iso2709"]),
    default="text",
    show_default=True,
)
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "gb18030"]),
    default="utf-8",
    show_default=True,
    help="Charset of --format iso2709 output (the record's declaration is rewritten to match).",
)
@json_option
@pass_app
def catalogue_show(app: App, bib_id: int, fmt: str, encoding: str, as_json: bool) -> None:
    """Show record BIB_ID with its holdings."""
    cat = _catalogue(app)
    rec = cat.get(bib_id)
    holdings = cat.holdings(bib_id)
    if as_json:
        echo_json(_record_json(rec, holdings))
        return
    if fmt != "text":
        if rec.record is None or rec.flavour is None:
            raise HubError(f"record {bib_id} is a brief record (no MARC)")
        try:
            if fmt == "marcxml":
                data = to_marcxml(rec.record)
            else:
                data = to_iso2709(rec.record, rec.flavour, Charset.from_label(encoding))
        except (MarcWriteError, UnicodeEncodeError) as exc:
            raise HubError(
                f"record {bib_id} cannot be written as {fmt}/{encoding}: {exc}"
            ) from None
        out = sys.stdout.buffer
        out.write(data)
        if fmt == "marcxml":
            out.write(b"\n")
        out.flush()
        return
    flavour = rec.flavour.value if rec.flavour else "brief record (no MARC)"
    click.echo(f"record {rec.id}  {flavour}  {rec.title}")
    if rec.record is not None:
        arrived = rec.charset or "?"
        if rec.charset_declared:
            arrived += f" (declared {rec.charset_declared.strip()!r})"
        click.echo(f"source: {rec.source or '-'}; arrived in {arrived}")
        click.echo(str(rec.record))
    elif rec.author or rec.isbns:
        click.echo(f"author: {rec.author or '-'}  isbn: {', '.join(rec.isbns) or '-'}")
    click.echo("")
    if holdings:
        echo_table(
            ["barcode", "library", "location", "call number", "at", "status"],
            [
                [
                    h.barcode,
                    h.library,
                    h.location or "",
                    h.call_number or "",
                    h.current_library,
                    h.status,
                ]
                for h in holdings
            ],
        )
    else:
        click.echo("no items")


def _record_json(rec: Any, holdings: list[Any]) -> dict[str, Any]:
    a = rec.access
    return {
        "id": rec.id,
        "title": rec.title,
        "author": rec.author,
        "authors": list(a.authors) if a else ([rec.author] if rec.author else []),
        "isbns": list(rec.isbns),
        "issns": list(rec.issns),
        "year": rec.year,
        "publishers": list(a.publishers) if a else [],
        "clc": list(a.clc) if a else [],
        "subjects": list(a.subjects) if a else [],
        "local_number": a.local_number if a else None,
        "flavour": rec.flavour.value if rec.flavour else None,
        "charset": rec.charset,
        "charset_declared": rec.charset_declared,
        "source": rec.source,
        "marc": str(rec.record) if rec.record is not None else None,
        "holdings": [h.as_json() for h in holdings],
    }


@catalogue.command("stats")
@json_option
@pass_app
def catalogue_stats(app: App, as_json: bool) -> None:
    """Counts: records by flavour, brief records, ISBNs, items attached to records."""
    stats = _catalogue(app).stats()
    if as_json:
        echo_json(stats)
        return
    click.echo(f"records: {stats['records']:,}")
    for name, n in sorted(stats["by_flavour"].items()):
        click.echo(f"  {name}: {n:,}")
    click.echo(f"brief records (no MARC): {stats['brief_records']:,}")
    click.echo(f"ISBNs: {stats['isbns']:,}  ISSNs: {stats['issns']:,}")
    click.echo(f"items attached to records: {stats['items_linked']:,}")


COMMANDS = [catalogue]
