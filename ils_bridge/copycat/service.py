"""Copy cataloguing: search several sources at once, read what they send, import it.

``search_targets`` runs one query against several target profiles concurrently, each within
its own timeout; a target that fails (refuses, times out, is down, answers a diagnostic) is
reported as such and spoils nothing for the others. ``brief`` decodes a fetched record with
the profile's record encoding for display. ``copy_records`` converts every fetched record to
UTF-8 in its flavour (CNMARC for UNIMARC targets, MARC21 for USMARC ones), drops the source
library's holdings fields, and imports the lot
through :meth:`Catalogue.import_records`, which matches on ISBN/ISSN then title+author+year
and merges onto the record already in the catalogue instead of adding a duplicate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pymarc

from ..catalogue.access import extract_access_points
from ..catalogue.model import Charset, Flavour, ReadRecord
from ..catalogue.profiles import profile_for
from ..catalogue.reader import Syntax, read_marc
from ..catalogue.writer import MarcWriteError, to_iso2709, to_marcxml
from ..codes import Code, extract_isbn
from ..errors import InvalidInput
from .profiles import TargetProfile
from .sources import CatalogueSourceRegistry, SourceError, SourceRecord, SourceRegistryError

__all__ = [
    "Brief",
    "ConversionFailure",
    "CopyReport",
    "TargetOutcome",
    "brief",
    "copy_records",
    "isbn_queries",
    "search_targets",
]


@dataclass(frozen=True)
class Brief:
    """What a cataloguer sees of a fetched record."""

    title: str | None
    author: str | None
    isbns: tuple[str, ...]
    year: int | None
    publisher: str | None
    flavour: str | None
    charset: str | None
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "author": self.author,
            "isbns": list(self.isbns),
            "year": self.year,
            "publisher": self.publisher,
            "flavour": self.flavour,
            "charset": self.charset,
            "problem": self.problem,
        }


@dataclass
class TargetOutcome:
    """What one target gave (or why it gave nothing)."""

    target: str
    address: str
    ok: bool
    hits: int = 0
    records: tuple[SourceRecord, ...] = ()
    query: str = ""
    error: str | None = None
    seconds: float = 0.0

    def as_json(self, briefs: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "address": self.address,
            "ok": self.ok,
            "hits": self.hits,
            "fetched": len(self.records),
            "query": self.query,
            "error": self.error,
            "seconds": round(self.seconds, 3),
        }
        if briefs:
            out["records"] = [brief(r).as_json() for r in self.records]
        return out


def isbn_queries(isbn: str) -> list[str]:
    """PQF for an ISBN search: the form given first, then the other form (10 ⇄ 13)."""
    code = extract_isbn(isbn)
    if not isinstance(code, Code):
        digits = "".join(c for c in isbn.upper() if c.isdigit() or c == "X")
        if not digits:
            raise InvalidInput(f"{isbn!r} is not an ISBN")
        return [f"@attr 1=7 {digits}"]
    isbn13 = code.value
    typed = "".join(c for c in code.raw.upper() if c.isdigit() or c == "X")
    forms = [typed if len(typed) in (10, 13) else isbn13, isbn13]
    if isbn13.startswith("978"):
        body = isbn13[3:12]
        total = sum((10 - i) * int(d) for i, d in enumerate(body))
        check = (11 - total % 11) % 11
        forms.append(body + ("X" if check == 10 else str(check)))
    return [f"@attr 1=7 {f}" for f in dict.fromkeys(forms)]


async def _one(
    profile: TargetProfile,
    registry: CatalogueSourceRegistry,
    queries: Sequence[str],
    max_records: int,
    timeout: float | None,
) -> TargetOutcome:
    started = time.monotonic()
    out = TargetOutcome(profile.name, profile.address, ok=False, query=queries[0])
    limit = timeout if timeout is not None else profile.timeout
    try:
        source = registry.make(profile)
        async with asyncio.timeout(limit):
            for query in queries:
                result = await source.search(query, max_records=max_records)
                out.hits, out.records, out.query = result.hits, result.records, result.query
                if result.hits:
                    break
        out.ok = True
    except SourceError as exc:
        out.error = str(exc)
    except SourceRegistryError as exc:
        out.error = str(exc)
    except TimeoutError:
        out.error = f"no answer within {limit:g} s"
    except OSError as exc:
        out.error = f"cannot reach {profile.host}:{profile.port}: {exc.strerror or exc}"
    except Exception as exc:  # a broken plugin or target must not spoil the other targets
        out.error = f"{type(exc).__name__}: {exc}"
    out.seconds = time.monotonic() - started
    return out


async def search_targets(
    profiles: Sequence[TargetProfile],
    registry: CatalogueSourceRegistry,
    queries: str | Sequence[str],
    *,
    max_records: int = 10,
    timeout: float | None = None,
) -> list[TargetOutcome]:
    """Search every profile concurrently (``queries`` tried in turn until one has hits)."""
    qs = [queries] if isinstance(queries, str) else list(queries)
    if not qs:
        raise InvalidInput("no query")
    return list(
        await asyncio.gather(*(_one(p, registry, qs, max_records, timeout) for p in profiles))
    )


def _read(record: SourceRecord) -> ReadRecord | str:
    """The record parsed with the source's charset and flavour, or why it cannot be."""
    if not record.ok:
        return record.diagnostic or "no record"
    syntax = Syntax.MARCXML if record.format == "marcxml" else Syntax.ISO2709
    try:
        results = list(
            read_marc(record.data, syntax=syntax, charset=record.charset, flavour=record.flavour)
        )
    except Exception as exc:  # the reader is total, but a fetched record is foreign input
        return f"unreadable record: {exc}"
    if not results:
        return "empty record"
    first = results[0]
    if not first.ok:
        return first.reason
    return first


def brief(record: SourceRecord) -> Brief:
    """Title, author, ISBNs … of a fetched record, decoded with the source's charset."""
    read = _read(record)
    if isinstance(read, str):
        return Brief(None, None, (), None, None, None, None, problem=read)
    access = extract_access_points(read.record, read.flavour)
    return Brief(
        title=access.title,
        author=access.authors[0] if access.authors else access.responsibility,
        isbns=tuple(sorted(access.isbns)),
        year=access.year,
        publisher=access.publishers[0] if access.publishers else None,
        flavour=read.flavour.value,
        charset=read.charset.used.value,
        problem="; ".join(read.warnings) or None,
    )


@dataclass(frozen=True)
class ConversionFailure:
    target: str
    record: int  # 1-based position in what the target sent
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "record": self.record, "reason": self.reason}


@dataclass
class CopyReport:
    outcomes: list[TargetOutcome]
    summary: Any = None  # ImportSummary (None when nothing was fetched)
    failures: list[ConversionFailure] = field(default_factory=list)
    converted: int = 0

    def as_json(self) -> dict[str, Any]:
        summary = self.summary.as_json() if self.summary is not None else None
        return {
            "targets": [o.as_json(briefs=False) for o in self.outcomes],
            "fetched": sum(len(o.records) for o in self.outcomes),
            "converted": self.converted,
            "conversion_failures": [f.as_json() for f in self.failures],
            "new": summary["new"] if summary else 0,
            "merged": summary["merged"] if summary else 0,
            "rejected": (summary["rejected"] if summary else 0) + len(self.failures),
            "dry_run": summary["dry_run"] if summary else False,
            "import": summary,
        }


def convert(record: SourceRecord) -> tuple[Flavour, bytes] | str:
    """The record as UTF-8 (ISO 2709, or MARCXML when too long), with its flavour."""
    read = _read(record)
    if isinstance(read, str):
        return read
    if read.charset.lossy:
        return (
            f"bytes not decodable as {read.charset.used.value} (set the target's record encoding)"
        )
    bib = without_holdings(read.record, read.flavour)
    try:
        return read.flavour, to_iso2709(bib, read.flavour, Charset.UTF8)
    except MarcWriteError:
        return read.flavour, to_marcxml(bib)


def without_holdings(record: pymarc.Record, flavour: Flavour) -> pymarc.Record:
    """The record without the source library's holdings fields (CNMARC 905/906, MARC21
    852/952 …): copy cataloguing takes the bibliographic description, not another library's
    shelves."""
    tags = {rule.tag for rule in profile_for(flavour).holdings}
    out = pymarc.Record(leader=str(record.leader))
    out.fields = [f for f in record.fields if f.tag not in tags]
    return out


def copy_records(
    catalogue: Any,
    outcomes: Sequence[TargetOutcome],
    *,
    dry_run: bool = False,
) -> CopyReport:
    """Convert what the targets sent and import it through ``catalogue.import_records``."""
    report = CopyReport(list(outcomes))
    groups: dict[Flavour, list[tuple[str, bytes]]] = {}
    for outcome in outcomes:
        for i, rec in enumerate(outcome.records, start=1):
            converted = convert(rec)
            if isinstance(converted, str):
                report.failures.append(ConversionFailure(outcome.target, i, converted))
                continue
            flavour, data = converted
            report.converted += 1
            groups.setdefault(flavour, []).append((f"z3950:{outcome.target}#{i}", data))
    summary = None
    for flavour, sources in groups.items():
        part = catalogue.import_records(
            sources, encoding=Charset.UTF8, flavour=flavour, dry_run=dry_run
        )
        if summary is None:
            summary = part
        else:
            summary.new += part.new
            summary.merged += part.merged
            summary.rejected += part.rejected
            summary.failures += part.failures
            summary.warnings += part.warnings
            summary.files += part.files
    report.summary = summary
    return report
