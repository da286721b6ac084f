"""Test helpers: an in-memory Z39.50 backend with a few MARC records."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import pymarc

from protocols.z3950 import oids
from protocols.z3950.apdu import AttributesPlusTerm, RpnNode, RpnOp, RpnQuery
from protocols.z3950.records import CircRecord, HoldingsAndCirc, OpacRecord
from protocols.z3950.target import (
    AssociationContext,
    Diagnostic,
    PresentQuery,
    PresentResult,
    RetrievalRecord,
    SearchQuery,
    SearchResult,
)


@dataclass(frozen=True)
class Book:
    """A catalogue entry of the fake backend."""

    isbn: str
    title: str
    author: str

    def marc(self, encoding: str = "utf-8") -> bytes:
        """The record as ISO 2709 (leader/09 'a'), its text in ``encoding``."""
        rec = pymarc.Record(force_utf8=True)
        rec.leader = pymarc.Leader("00000nam a2200000 a 4500")
        rec.add_field(pymarc.Field(tag="001", data=self.isbn))
        rec.add_field(
            pymarc.Field(
                tag="020", indicators=[" ", " "], subfields=[pymarc.Subfield("a", self.isbn)]
            )
        )
        rec.add_field(
            pymarc.Field(
                tag="100", indicators=["1", " "], subfields=[pymarc.Subfield("a", self.author)]
            )
        )
        rec.add_field(
            pymarc.Field(
                tag="245", indicators=["1", "0"], subfields=[pymarc.Subfield("a", self.title)]
            )
        )
        data = rec.as_marc()
        if encoding.lower().replace("-", "") != "utf8":
            # Re-encode the text parts, then fix the directory via pymarc.
            rec2 = pymarc.Record(data=data, to_unicode=True, force_utf8=True)
            raw = rec2.as_marc()
            return _reencode(raw, encoding)
        return data

    def xml(self) -> bytes:
        """A minimal MARCXML record."""
        return (
            '<record xmlns="http://www.loc.gov/MARC21/slim">'
            f'<controlfield tag="001">{self.isbn}</controlfield>'
            f'<datafield tag="245" ind1="1" ind2="0"><subfield code="a">{self.title}</subfield></datafield>'
            "</record>"
        ).encode()


def _reencode(raw: bytes, encoding: str) -> bytes:
    """Re-encode an ISO 2709 record's fields into ``encoding`` and rebuild the directory."""
    base = int(raw[12:17])
    directory = raw[24 : base - 1]
    fields = []
    for i in range(0, len(directory), 12):
        entry = directory[i : i + 12]
        tag = entry[:3]
        length = int(entry[3:7])
        start = int(entry[7:12])
        body = raw[base + start : base + start + length].decode("utf-8").encode(encoding)
        fields.append((tag, body))
    new_dir = b""
    data = b""
    for tag, body in fields:
        new_dir += tag + b"%04d%05d" % (len(body), len(data))
        data += body
    new_base = 24 + len(new_dir) + 1
    total = new_base + len(data) + 1
    leader = b"%05d" % total + raw[5:12] + b"%05d" % new_base + raw[17:24]
    return leader + new_dir + b"\x1e" + data + b"\x1d"


BOOKS = (
    Book("9787111213826", "Java编程思想", "埃克尔"),
    Book("9780201896831", "The art of computer programming", "Knuth, Donald"),
    Book("9787020002207", "红楼梦", "曹雪芹"),
)

SUPPORTED_USE = {4: "title", 7: "isbn", 1003: "author", 1016: "any"}


def _use(node: AttributesPlusTerm) -> int:
    for a in node.attributes:
        if a.type == 1 and isinstance(a.value, int):
            return a.value
    return 1016


@dataclass
class MemoryBackend:
    """A backend over :data:`BOOKS` for tests; records the contexts it saw."""

    books: tuple[Book, ...] = BOOKS
    names: tuple[str, ...] = ("Default", "books")
    unavailable: tuple[str, ...] = ("offline",)
    refuse_user: str | None = None
    contexts: list[AssociationContext] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    queries: list[RpnQuery] = field(default_factory=list)

    def databases(self) -> Collection[str]:
        return (*self.names, *self.unavailable)

    def record_syntaxes(self) -> Collection[str]:
        return (oids.USMARC, oids.UNIMARC, oids.XML, oids.SUTRS, oids.OPAC)

    async def init(self, context: AssociationContext) -> Diagnostic | None:
        self.contexts.append(context)
        if self.refuse_user is not None and context.user == self.refuse_user:
            return Diagnostic(1011, context.user)
        return None

    def _match(self, node: RpnNode, ctx: AssociationContext) -> set[int] | Diagnostic:
        if isinstance(node, RpnOp):
            left = self._match(node.left, ctx)
            if isinstance(left, Diagnostic):
                return left
            right = self._match(node.right, ctx)
            if isinstance(right, Diagnostic):
                return right
            if node.op == "and":
                return left & right
            if node.op == "or":
                return left | right
            if node.op == "and-not":
                return left - right
            return Diagnostic(129, "proximity")
        if not isinstance(node, AttributesPlusTerm) or not isinstance(node.term, bytes):
            return Diagnostic(3, "unsupported operand")
        use = _use(node)
        if use not in SUPPORTED_USE:
            return Diagnostic(114, str(use))
        term = ctx.term_text(node.term)
        self.terms.append(term)
        out = set()
        for i, book in enumerate(self.books):
            fields = {"title": book.title, "isbn": book.isbn, "author": book.author}
            hay = " ".join(fields.values()) if use == 1016 else fields[SUPPORTED_USE[use]]
            if term.lower() in hay.lower():
                out.add(i)
        return out

    async def search(self, query: SearchQuery) -> SearchResult:
        self.queries.append(query.query)
        if any(db in self.unavailable for db in query.databases):
            return SearchResult(diagnostic=Diagnostic(109, query.databases[0]))
        found = self._match(query.query.rpn, query.context)
        if isinstance(found, Diagnostic):
            return SearchResult(diagnostic=found)
        return SearchResult(hits=len(found), handle=sorted(found))

    async def present(self, query: PresentQuery) -> PresentResult:
        handle = query.result_set.handle
        assert isinstance(handle, list)
        out: list[RetrievalRecord | Diagnostic] = []
        for idx in handle[query.start - 1 : query.start - 1 + query.count]:
            book = self.books[idx]
            if query.syntax in (oids.USMARC, oids.UNIMARC):
                out.append(RetrievalRecord(book.marc(query.context.charset), query.syntax))
            elif query.syntax == oids.XML:
                out.append(RetrievalRecord(book.xml(), oids.XML))
            elif query.syntax == oids.SUTRS:
                out.append(RetrievalRecord(f"{book.title} / {book.author}\n", oids.SUTRS))
            else:
                holdings = HoldingsAndCirc(
                    local_location="总馆 Central",
                    call_number="TP312/E22",
                    circulation=(CircRecord(available_now=True, item_id="C0001"),),
                )
                out.append(RetrievalRecord(OpacRecord(None, (holdings,)), oids.OPAC))
        return PresentResult(tuple(out))
