"""PQF (Prefix Query Format), the YAZ notation for Type-1 RPN queries.

Grammar, as YAZ ``src/pquery.c`` accepts it::

    query    ::= [ "@attrset" set ] rpn
    rpn      ::= "@and" rpn rpn | "@or" rpn rpn | "@not" rpn rpn
               | "@prox" excl dist ordered relation (k|p) unit rpn rpn
               | "@set" name
               | { "@attr" [set] type "=" value } [ "@term" kind ] term

Terms are words or quoted with ``"…"`` or ``{…}``; backslash escapes
``\\t \\n \\r \\f \\xHH \\ooo`` and ``\\X`` (X itself) are understood.
An attribute value that is not a number becomes a ``complex`` string value
(``@attr 1=title``).

Differences from YAZ, on purpose: attribute lists keep their textual order
(YAZ emits them reversed); duplicates of a (set, type) pair still follow YAZ's
"last one wins".  ``parse_pqf(print_pqf(q)) == q`` for any query whose terms
are text in the given charset and whose operands have distinct attribute types.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import oids
from .apdu import (
    AttributeElement,
    AttributesPlusTerm,
    ComplexValue,
    Operator,
    Prox,
    RawOperand,
    ResultSetOperand,
    RpnNode,
    RpnOp,
    RpnQuery,
    TermValue,
)

__all__ = ["ATTRIBUTE_SETS", "PqfError", "parse_pqf", "print_pqf"]

MAX_DEPTH = 200

#: Attribute set names YAZ knows (``src/oid.csv``), lower case.
ATTRIBUTE_SETS: dict[str, str] = {
    "bib-1": oids.BIB1_ATTRIBUTES,
    "exp-1": "1.2.840.10003.3.2",
    "ext-1": "1.2.840.10003.3.3",
    "ccl-1": "1.2.840.10003.3.4",
    "gils": "1.2.840.10003.3.5",
    "stas": "1.2.840.10003.3.6",
    "collections-1": "1.2.840.10003.3.7",
    "cimi-1": "1.2.840.10003.3.8",
    "geo-1": "1.2.840.10003.3.9",
    "zbig": "1.2.840.10003.3.10",
    "util": "1.2.840.10003.3.11",
    "xd-1": "1.2.840.10003.3.12",
    "zthes": "1.2.840.10003.3.13",
    "fin-1": "1.2.840.10003.3.14",
    "dan-1": "1.2.840.10003.3.15",
    "holdings": "1.2.840.10003.3.16",
    "marc": "1.2.840.10003.3.17",
    "bib-2": "1.2.840.10003.3.18",
    "zeerex": "1.2.840.10003.3.19",
}
_SET_NAMES = {v: k for k, v in ATTRIBUTE_SETS.items()}
_TERM_KINDS = ("general", "numeric", "string", "oid", "datetime", "null")


class PqfError(ValueError):
    """The PQF string is malformed; ``position`` is the offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at offset {position}")
        self.position = position


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str
    quoted: bool
    pos: int


def _unescape(raw: str, pos: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(raw):
            raise PqfError("dangling backslash", pos + i)
        nxt = raw[i + 1]
        simple = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt == "x" and i + 3 < len(raw) + 1 and _is_hex(raw[i + 2 : i + 4]):
            out.append(chr(int(raw[i + 2 : i + 4], 16)))
            i += 4
        elif (
            nxt in "01234567"
            and len(raw) >= i + 4
            and all(c in "01234567" for c in raw[i + 1 : i + 4])
        ):
            out.append(chr(int(raw[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def _is_hex(s: str) -> bool:
    return len(s) == 2 and all(c in "0123456789abcdefABCDEF" for c in s)


def _tokenise(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in '"{':
            close = '"' if ch == '"' else "}"
            j = i + 1
            while j < n and text[j] != close:
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise PqfError("unterminated quoted term", i)
            toks.append(_Tok(_unescape(text[i + 1 : j], i + 1), True, i))
            i = j + 1
            continue
        j = i
        while j < n and not text[j].isspace():
            j += 2 if text[j] == "\\" else 1
        toks.append(_Tok(_unescape(text[i:j], i), False, i))
        i = j
    return toks


def _attr_set(name: str, pos: int) -> str:
    key = name.lower()
    if key in ATTRIBUTE_SETS:
        return ATTRIBUTE_SETS[key]
    parts = key.split(".")
    if len(parts) >= 2 and all(p.isdigit() for p in parts):
        return key
    raise PqfError(f"unknown attribute set {name!r}", pos)


def _int(text: str, pos: int) -> int:
    try:
        return int(text)
    except ValueError:
        raise PqfError(f"expected an integer, got {text!r}", pos) from None


class _Parser:
    def __init__(self, toks: list[_Tok], charset: str) -> None:
        self.toks = toks
        self.i = 0
        self.charset = charset

    def next(self, what: str) -> _Tok:
        if self.i >= len(self.toks):
            end = self.toks[-1].pos if self.toks else 0
            raise PqfError(f"expected {what}, got end of query", end)
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def rpn(self, depth: int) -> RpnNode:
        if depth > MAX_DEPTH:
            raise PqfError("query nested too deeply", self.toks[self.i - 1].pos if self.i else 0)
        tok = self.next("an operand or operator")
        word = tok.text.lower() if not tok.quoted else ""
        ops: dict[str, Operator] = {"@and": "and", "@or": "or", "@not": "and-not"}
        if word in ops:
            return RpnOp(ops[word], self.rpn(depth + 1), self.rpn(depth + 1))
        if word == "@prox":
            return RpnOp(self.prox(), self.rpn(depth + 1), self.rpn(depth + 1))
        if word == "@set":
            return ResultSetOperand(self.next("a result set name").text)
        self.i -= 1
        return self.operand()

    def prox(self) -> Prox:
        excl = self.next("proximity exclusion")
        dist = self.next("proximity distance")
        ordered = self.next("proximity ordered flag")
        rel = self.next("proximity relation")
        which = self.next("proximity unit kind (k or p)")
        unit = self.next("proximity unit")
        if which.text.lower() not in ("k", "known", "p", "private"):
            raise PqfError("proximity unit kind must be k or p", which.pos)
        return Prox(
            exclusion={"0": False, "1": True}.get(excl.text),
            distance=_int(dist.text, dist.pos),
            ordered=_int(ordered.text, ordered.pos) != 0,
            relation=_int(rel.text, rel.pos),
            unit=_int(unit.text, unit.pos),
            known_unit=which.text.lower() in ("k", "known"),
        )

    def operand(self) -> AttributesPlusTerm:
        attrs: list[AttributeElement] = []
        kind = "general"
        while True:
            tok = self.next("a term")
            word = tok.text.lower() if not tok.quoted else ""
            if word == "@attr":
                attrs.append(self.attr())
            elif word == "@term":
                k = self.next("a term type")
                if k.text.lower() not in _TERM_KINDS:
                    raise PqfError(f"unknown term type {k.text!r}", k.pos)
                kind = k.text.lower()
            elif word.startswith("@"):
                raise PqfError(f"unexpected operator {tok.text!r}", tok.pos)
            else:
                return AttributesPlusTerm(_dedup(attrs), self.term(tok, kind))

    def attr(self) -> AttributeElement:
        tok = self.next("an attribute")
        aset: str | None = None
        if "=" not in tok.text:
            aset = _attr_set(tok.text, tok.pos)
            tok = self.next("an attribute type=value")
        type_text, sep, value_text = tok.text.partition("=")
        if not sep or not value_text:
            raise PqfError(f"expected type=value, got {tok.text!r}", tok.pos)
        atype = _int(type_text, tok.pos)
        value: int | ComplexValue
        if _is_int(value_text):
            value = int(value_text)
        else:
            items = tuple(int(v) if _is_int(v) else v for v in value_text.split(","))
            value = ComplexValue(items)
        return AttributeElement(atype, value, aset)

    def term(self, tok: _Tok, kind: str) -> bytes | TermValue:
        if kind == "general":
            try:
                return tok.text.encode(self.charset)
            except UnicodeEncodeError:
                raise PqfError(f"term not representable in {self.charset}", tok.pos) from None
        if kind == "numeric":
            return TermValue("numeric", _int(tok.text, tok.pos))
        if kind == "null":
            return TermValue("null")
        if kind == "oid":
            return TermValue("oid", _attr_set(tok.text, tok.pos))
        return TermValue("string" if kind == "string" else "datetime", tok.text)


def _is_int(s: str) -> bool:
    body = s[1:] if s.startswith("-") else s
    return body.isdigit() and body.isascii()


def _dedup(attrs: list[AttributeElement]) -> tuple[AttributeElement, ...]:
    """YAZ keeps the last attribute of each (set, type); we keep textual order."""
    last: dict[tuple[str | None, int], int] = {}
    for i, a in enumerate(attrs):
        last[(a.attribute_set, a.type)] = i
    return tuple(a for i, a in enumerate(attrs) if last[(a.attribute_set, a.type)] == i)


def parse_pqf(text: str, charset: str = "utf-8") -> RpnQuery:
    """Parse PQF into a Type-1 query; ``general`` terms are encoded with ``charset``."""
    toks = _tokenise(text)
    parser = _Parser(toks, charset)
    aset = oids.BIB1_ATTRIBUTES
    if toks and not toks[0].quoted and toks[0].text.lower() == "@attrset":
        parser.i = 1
        name = parser.next("an attribute set")
        aset = _attr_set(name.text, name.pos)
    rpn = parser.rpn(0)
    if parser.i != len(toks):
        raise PqfError("extra text after query", toks[parser.i].pos)
    return RpnQuery(rpn, aset)


# --------------------------------------------------------------------------- printing


def _quote(s: str) -> str:
    safe = (
        s
        and not s.startswith(("@", '"', "{"))
        and not any(c.isspace() or c in '\\"{}' or ord(c) < 0x20 for c in s)
    )
    if safe:
        return s
    out = []
    for c in s:
        if c in '\\"':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _set_name(oid: str) -> str:
    return _SET_NAMES.get(oid, oid)


def _print_attr(a: AttributeElement) -> str:
    prefix = "@attr " + ("" if a.attribute_set is None else _set_name(a.attribute_set) + " ")
    value = str(a.value) if isinstance(a.value, int) else ",".join(str(v) for v in a.value.values)
    return f"{prefix}{a.type}={value}"


def _print_term(term: bytes | TermValue, charset: str) -> str:
    if isinstance(term, bytes):
        return _quote(term.decode(charset, "backslashreplace"))
    if term.kind == "null":
        return '@term null ""'
    if term.kind == "raw":
        raise ValueError("a raw term has no PQF form")
    if term.kind == "oid" and isinstance(term.value, str):
        return f"@term oid {_set_name(term.value)}"
    return f"@term {term.kind} {_quote(str(term.value))}"


def _print(node: RpnNode, charset: str, out: list[str]) -> None:
    stack: list[RpnNode] = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, RpnOp):
            op = cur.op
            if isinstance(op, Prox):
                excl = {None: "n", False: "0", True: "1"}[op.exclusion]
                kind = "k" if op.known_unit else "p"
                out.append(
                    f"@prox {excl} {op.distance} {int(op.ordered)} {op.relation} {kind} {op.unit}"
                )
            else:
                out.append({"and": "@and", "or": "@or", "and-not": "@not"}[op])
            stack.append(cur.right)
            stack.append(cur.left)
        elif isinstance(cur, ResultSetOperand):
            out.append(f"@set {_quote(cur.name)}")
        elif isinstance(cur, RawOperand):
            raise ValueError("a raw operand has no PQF form")
        else:
            out.extend(_print_attr(a) for a in cur.attributes)
            out.append(_print_term(cur.term, charset))


def print_pqf(query: RpnQuery | RpnNode, charset: str = "utf-8") -> str:
    """Print a query (or an RPN node) as PQF; ``general`` terms are decoded with ``charset``."""
    out: list[str] = []
    if isinstance(query, RpnQuery):
        if query.attribute_set != oids.BIB1_ATTRIBUTES:
            out.append(f"@attrset {_set_name(query.attribute_set)}")
        _print(query.rpn, charset, out)
    else:
        _print(query, charset, out)
    return " ".join(out)
