"""What `item import` and `patron import` share: CSV in, progress, report out."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..cluster import ImportReport, Progress
from .app import echo_json, read_csv, require_columns, with_progress

Importer = Callable[[list[dict[str, str | None]], Progress], ImportReport]


def run_import(
    path: Path,
    *,
    encoding: str | None,
    needed: list[str],
    importer: Importer,
    report_path: Path | None,
    as_json: bool,
    strict: bool,
    noun: str,
) -> None:
    rows = read_csv(path, encoding)
    header = list(rows[0].keys()) if rows else needed
    require_columns(path, rows, header, needed)
    with with_progress(len(rows) * 2, f"importing {len(rows):,} {noun}") as bar:
        state = {"last": 0}

        def progress(done: int) -> None:
            # Two phases (check, then write); each reports rows done within its phase.
            step = done - state["last"] if done >= state["last"] else done
            state["last"] = done
            bar.update(step)

        report = importer(rows, progress)
    if report_path:
        write_report(report, report_path)
    summary = report.summary()
    if as_json:
        echo_json({**summary, "report": str(report_path) if report_path else None,
                   "refused": [_row_json(r) for r in report.rows if r.outcome != "imported"][:1000]})
    else:
        verb = "would import" if report.dry_run else "imported"
        click.echo(
            f"{verb} {report.imported:,} {noun} into {report.library}; "
            f"{report.duplicates:,} duplicates, {report.invalid:,} invalid (of {len(report.rows):,} rows)"
        )
        shown = 0
        for row in report.rows:
            if row.outcome == "imported":
                continue
            if shown == 20:
                rest = report.duplicates + report.invalid - shown
                click.echo(f"  … and {rest:,} more" + ("" if report_path else " (use --report FILE.csv for all)"))
                break
            click.echo(f"  line {row.line}: {row.outcome} {row.value or row.raw!r}: {_detail(row.detail)}")
            shown += 1
    if strict and (report.duplicates or report.invalid):
        raise SystemExit(1)


def _detail(detail: str) -> str:
    # Patron duplicates carry "kind|value|holder"; show the holder part.
    parts = detail.split("|", 2)
    return parts[2] if len(parts) == 3 else detail


def _row_json(row: Any) -> dict[str, Any]:
    return {"line": row.line, "value": row.value, "raw": row.raw, "outcome": row.outcome, "detail": _detail(row.detail)}


def write_report(report: ImportReport, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel opens it as UTF-8
        writer = csv.writer(fh)
        writer.writerow(["line", "input", "normalised", "outcome", "detail"])
        for row in report.rows:
            writer.writerow([row.line, row.raw, row.value or "", row.outcome, _detail(row.detail)])


def import_options(f: Any) -> Any:
    for option in reversed([
        click.option("--library", required=True, help="Library that issues these codes."),
        click.option("--encoding", help="CSV encoding (default: UTF-8, else GB18030 as Excel writes it)."),
        click.option("--dry-run", is_flag=True, help="Check everything, write nothing."),
        click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write every row's outcome to this CSV file."),
        click.option("--strict", is_flag=True, help="Exit 1 when any row was refused."),
        click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
    ]):
        f = option(f)
    return f
