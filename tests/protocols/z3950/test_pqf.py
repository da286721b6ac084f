"""PQF parser and printer: YAZ semantics, CJK terms, parse∘print identity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.z3950 import oids
from protocols.z3950.apdu import (
    AttributeElement,
    AttributesPlusTerm,
    ComplexValue,
    Prox,
    ResultSetOperand,
    RpnNode,
    RpnOp,
    RpnQuery,
    SearchRequest,
    TermValue,
    decode_pdu,
)
from protocols.z3950.pqf import PqfError, parse_pqf, print_pqf

from .strategies import CJK, rpn_queries


def term(attrs: list[tuple[int, int]], text: str) -> AttributesPlusTerm:
    return AttributesPlusTerm(tuple(AttributeElement(t, v) for t, v in attrs), text.encode())


@pytest.mark.parametrize(
    ("pqf", "rpn"),
    [
        ("computer", term([], "computer")),
        ("@attr 1=7 9787111213826", term([(1, 7)], "9787111213826")),
        ('@attr 1=4 @attr 4=2 "title words"', term([(1, 4), (4, 2)], "title words")),
        ("@attr 1=4 {title words}", term([(1, 4)], "title words")),
        (
            "@and @attr 1=1003 knuth @attr 1=4 @attr 5=1 computer",
            RpnOp("and", term([(1, 1003)], "knuth"), term([(1, 4), (5, 1)], "computer")),
        ),
        ("@or a b", RpnOp("or", term([], "a"), term([], "b"))),
        ("@not a b", RpnOp("and-not", term([], "a"), term([], "b"))),
        ("@set r1", ResultSetOperand("r1")),
        ('@attr 1=4 "计算机"', term([(1, 4)], "计算机")),
        ("@attr 1=4 红楼梦", term([(1, 4)], "红楼梦")),
        (r'"say \"hi\""', term([], 'say "hi"')),
        (r"a\x41b", term([], "aAb")),
        (r'"tab\there"', term([], "tab\there")),
        (r'"\101"', term([], "A")),
        ("@attr 1=4 @attr 1=7 x", term([(1, 7)], "x")),  # YAZ: the last duplicate wins
        (
            "@prox 0 3 1 2 k 2 a b",
            RpnOp(Prox(False, 3, True, 2, 2, True), term([], "a"), term([], "b")),
        ),
    ],
)
def test_parse(pqf: str, rpn: RpnNode) -> None:
    assert parse_pqf(pqf).rpn == rpn


def test_attribute_forms() -> None:
    q = parse_pqf("@attrset gils @attr bib-1 1=4 @attr 1=title @attr 2=-1 x")
    assert q.attribute_set == "1.2.840.10003.3.5"
    assert isinstance(q.rpn, AttributesPlusTerm)
    assert q.rpn.attributes == (
        AttributeElement(1, 4, oids.BIB1_ATTRIBUTES),
        AttributeElement(1, ComplexValue(("title",))),
        AttributeElement(2, -1),
    )
    assert parse_pqf(print_pqf(q)) == q


def test_term_types() -> None:
    q = parse_pqf("@and @term numeric 42 @or @term string abc @term null x")
    assert q.rpn == RpnOp(
        "and",
        AttributesPlusTerm((), TermValue("numeric", 42)),
        RpnOp(
            "or",
            AttributesPlusTerm((), TermValue("string", "abc")),
            AttributesPlusTerm((), TermValue("null")),
        ),
    )
    assert parse_pqf(print_pqf(q)) == q


def test_charset_of_terms() -> None:
    q = parse_pqf("@attr 1=4 计算机", charset="gb18030")
    assert isinstance(q.rpn, AttributesPlusTerm)
    assert q.rpn.term == bytes.fromhex(
        "bcc6cbe3bbfa"
    )  # what yaz-client sends with querycharset GBK
    assert print_pqf(q, charset="gb18030") == "@attr 1=4 计算机"
    with pytest.raises(PqfError, match="not representable"):
        parse_pqf("计算机", charset="latin-1")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "@and a",
        '"open',
        "@attr 1=4",
        "@attr x=4 t",
        "@attr 1= t",
        "@attr nosuchset 1=4 t",
        "a b",
        "@foo a",
        "@prox 0 3 1 2 q 2 a b",
        "@term bogus x",
        "\\",
    ],
)
def test_malformed(bad: str) -> None:
    with pytest.raises(PqfError):
        parse_pqf(bad)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(PqfError, match="deeply"):
        parse_pqf("@and " * 5000 + "a " * 5001)


@pytest.mark.parametrize(
    ("capture", "pqf"),
    [
        ("ztest-basic/d.003", "@attr 1=7 9787111213826"),
        ("ztest-charneg-utf8/c.003", '@attr 1=4 "计算机"'),
        ("ztest-charneg-utf8/c.007", '@attr 1=4 @attr 4=2 "title words"'),
        ("ztest-charneg-utf8/c.009", "@and @attr 1=1003 knuth @attr 1=4 @attr 5=1 computer"),
        ("ztest-charneg-utf8/c.013", "foo"),
        ("ztest-opac-sutrs-diag/o.003", "computer"),
    ],
)
def test_matches_what_yaz_client_sent(captures: dict[str, bytes], capture: str, pqf: str) -> None:
    """yaz-client's PQF → RPN, modulo attribute order (YAZ reverses attribute lists)."""
    sent = decode_pdu(captures[capture])
    assert isinstance(sent, SearchRequest) and isinstance(sent.query, RpnQuery)

    def canon(node: RpnNode) -> object:
        if isinstance(node, RpnOp):
            return (node.op, canon(node.left), canon(node.right))
        if isinstance(node, AttributesPlusTerm):
            return (sorted((a.type, str(a.value)) for a in node.attributes), node.term)
        return node

    assert canon(parse_pqf(pqf).rpn) == canon(sent.query.rpn)
    assert parse_pqf(pqf).attribute_set == sent.query.attribute_set


@given(rpn_queries(text_terms=True))
def test_parse_print_identity(q: RpnQuery) -> None:
    assert parse_pqf(print_pqf(q)) == q


@given(
    st.lists(st.one_of(CJK, st.sampled_from(list(' "{}\\@\t\nab1'))), min_size=1, max_size=15).map(
        "".join
    )
)
def test_any_term_text_round_trips(text: str) -> None:
    q = RpnQuery(AttributesPlusTerm((AttributeElement(1, 4),), text.encode()))
    printed = print_pqf(q)
    assert parse_pqf(printed) == q
    assert print_pqf(parse_pqf(printed)) == printed


@given(st.text(max_size=40))
def test_parser_is_total(text: str) -> None:
    try:
        q = parse_pqf(text)
    except PqfError:
        return
    assert print_pqf(parse_pqf(print_pqf(q))) == print_pqf(q)
