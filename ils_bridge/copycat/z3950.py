"""The generic Z39.50 catalogue source (kind ``z3950``), registered by ``plugins/z3950.py``.

One association per search: Init (proposing the profile's term charset when ``negotiate``,
sending user/password when given), Search in the profile's database, Present of up to
``max_records`` records in the profile's syntax (UNIMARC for CNMARC targets, USMARC for
MARC21 ones), Close. Every request is bounded by the profile's timeout. Diagnostics and
refusals become :class:`~ils_bridge.copycat.sources.SourceError` with the target's words.
"""

from __future__ import annotations

from typing import ClassVar

from protocols.z3950 import oids
from protocols.z3950.apdu import DefaultDiag, External, ResponseRecords
from protocols.z3950.diagnostics import diagnostics_from_diag1
from protocols.z3950.diagnostics import text as diag_text
from protocols.z3950.origin import Z3950Origin
from protocols.z3950.pqf import PqfError

from ..catalogue.model import Flavour
from .profiles import TargetProfile
from .sources import SourceError, SourceRecord, SourceResult

__all__ = ["Z3950Source", "describe_diagnostic"]

_PRESENT_CHUNK = 10


def describe_diagnostic(d: DefaultDiag) -> str:
    """``[114] Unsupported Use attribute: 9999`` (as yaz-client shows them, roughly)."""
    extra = f": {d.addinfo}" if d.addinfo else ""
    return f"[{d.condition}] {diag_text(d.condition)}{extra}"


class Z3950Source:
    """A Z39.50 target as a catalogue source."""

    kind: ClassVar[str] = "z3950"
    description: ClassVar[str] = "a Z39.50 target (generic origin: UNIMARC/CNMARC or USMARC)"

    def __init__(self, profile: TargetProfile) -> None:
        self.profile = profile

    async def search(self, pqf: str, *, max_records: int) -> SourceResult:
        p = self.profile
        syntax = oids.syntax_oid(p.syntax)
        try:
            origin = await Z3950Origin.connect(
                p.host, p.port, timeout=p.timeout, query_charset=p.term_encoding
            )
        except TimeoutError:
            raise TimeoutError(
                f"no connection to {p.host}:{p.port} within {p.timeout:g} s"
            ) from None
        async with origin:
            init = await origin.init(
                charsets=(p.term_encoding.upper(),) if p.negotiate else (),
                user=p.user,
                password=p.password,
            )
            if not init.result:
                why = "; ".join(
                    describe_diagnostic(d)
                    for d in (
                        diagnostics_from_diag1(init.user_information)
                        if init.user_information is not None
                        else ()
                    )
                )
                raise SourceError(f"the target refused the connection{': ' + why if why else ''}")
            try:
                found = await origin.search(pqf, databases=(p.database,))
            except PqfError as exc:
                raise SourceError(f"bad PQF query: {exc}") from None
            except UnicodeEncodeError as exc:
                raise SourceError(
                    f"the query cannot be written in the target's charset {origin.charset}: {exc}"
                ) from None
            if isinstance(found.records, DefaultDiag):
                raise SourceError(describe_diagnostic(found.records))
            if not found.search_status:
                raise SourceError("the search failed (no diagnostic given)")
            hits = found.result_count
            wanted = min(hits, max(0, max_records))
            records: list[SourceRecord] = []
            position = 1
            while position <= wanted:
                page = await origin.present(
                    position, min(_PRESENT_CHUNK, wanted - position + 1), syntax=syntax
                )
                if isinstance(page.records, DefaultDiag):
                    if not records:
                        raise SourceError(describe_diagnostic(page.records))
                    break
                if not isinstance(page.records, ResponseRecords) or not page.records.records:
                    break
                for npr in page.records.records:
                    records.append(self._record(npr.record))
                position += len(page.records.records)
            return SourceResult(hits=hits, records=tuple(records), query=pqf)

    def _record(self, rec: object) -> SourceRecord:
        p = self.profile
        if isinstance(rec, DefaultDiag):
            return SourceRecord(b"", diagnostic=describe_diagnostic(rec))
        if isinstance(rec, External) and isinstance(rec.encoding, bytes):
            if rec.direct_reference in (oids.XML, oids.XML_APPLICATION):
                return SourceRecord(rec.encoding, "marcxml", p.flavour, p.record_charset)
            if rec.direct_reference in (oids.UNIMARC, oids.USMARC, None):
                flavour = Flavour.MARC21 if rec.direct_reference == oids.USMARC else p.flavour
                return SourceRecord(rec.encoding, "iso2709", flavour, p.record_charset)
            return SourceRecord(
                b"", diagnostic=f"record in syntax {oids.syntax_name(rec.direct_reference)}"
            )
        return SourceRecord(b"", diagnostic="a record in a form we cannot read")
