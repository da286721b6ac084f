"""CJK search tokens, and the FTS5 / LIKE scheme the store uses, run against real SQLite."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ils_bridge.catalogue.search import (
    fts5_match,
    index_text,
    index_tokens,
    is_cjk,
    like_patterns,
    query_phrases,
    query_tokens,
)

TITLES = {
    1: "红楼梦",
    2: "红楼梦魇",
    3: "红梦楼",
    4: "C语言程序设计 第2版",
    5: "Programming Perl",
    6: "“八五”时期的中国",
    7: "楼外楼",
    8: "Pride AND prejudice, or NOT? near",
}


def test_index_tokens_bigrams_then_unigrams() -> None:
    assert index_tokens("红楼梦") == ["红楼", "楼梦", "红", "楼", "梦"]
    assert index_tokens("C语言程序设计 第2版") == [
        "c", "语言", "言程", "程序", "序设", "设计", "第", "2", "版",
        "语", "言", "程", "序", "设", "计",
    ]  # fmt: skip
    assert index_tokens("ＰＥＲＬ５") == ["perl5"]
    assert index_tokens("\x88L'\x89altra") == ["l", "altra"]
    assert index_tokens("…！") == []


def test_query_tokens_are_the_main_stream() -> None:
    assert query_tokens("红楼") == ["红楼"]
    assert query_tokens("红楼梦") == ["红楼", "楼梦"]
    assert query_tokens("梦") == ["梦"]
    assert query_phrases("红楼梦  曹雪芹") == [("红楼", "楼梦"), ("曹雪", "雪芹")]
    assert fts5_match("红楼梦 Perl") == '"红楼 楼梦" AND "perl"'
    assert fts5_match("  ！！ ") == ""
    assert like_patterns("红楼梦") == [" 红楼 楼梦 "]


def _sqlite_fts(titles: dict[int, str]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    try:
        db.execute(
            "CREATE VIRTUAL TABLE record_fts USING fts5(search_text, "
            "tokenize = 'unicode61 remove_diacritics 0')"
        )
    except sqlite3.OperationalError as exc:  # pragma: no cover - depends on the build
        pytest.skip(f"SQLite has no FTS5: {exc}")
    db.executemany(
        "INSERT INTO record_fts (rowid, search_text) VALUES (?, ?)",
        [(k, index_text(v)) for k, v in titles.items()],
    )
    return db


def fts_search(db: sqlite3.Connection, query: str) -> set[int]:
    expr = fts5_match(query)
    if not expr:
        return set()
    return {
        row[0]
        for row in db.execute("SELECT rowid FROM record_fts WHERE record_fts MATCH ?", (expr,))
    }


def like_search(titles: dict[int, str], query: str) -> set[int]:
    """What PostgreSQL's ``search_text LIKE '%p%'`` (AND over patterns) returns."""
    patterns = like_patterns(query)
    if not patterns:
        return set()
    return {k for k, v in titles.items() if all(p in index_text(v) for p in patterns)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("红楼", {1, 2}),
        ("红楼梦", {1, 2}),
        ("楼梦魇", {2}),
        ("红梦楼", {3}),
        ("梦", {1, 2, 3}),
        ("楼", {1, 2, 3, 7}),
        ("外楼", {7}),
        ("c语言", {4}),
        ("程序设计 第2版", {4}),
        ("perl", {5}),
        ("PROGRAMMING", {5}),
        ("八五", {6}),
        ("“八五”", {6}),
        ("五时", set()),  # 五 and 时 are separated by a quote in the title
        ("设计程序", set()),
        ("?!", set()),
        ("and NOT", {8}),  # FTS5 operators are plain words inside our quoted phrases
        ("NEAR", {8}),
        ("or", {8}),
    ],
)
def test_fts5_and_like_schemes_agree(query: str, expected: set[int]) -> None:
    db = _sqlite_fts(TITLES)
    assert fts_search(db, query) == expected
    assert like_search(TITLES, query) == expected


cjk_chars = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
cjk_titles = st.text(alphabet=cjk_chars, min_size=2, max_size=20)


@given(cjk_titles, st.data())
def test_substring_query_tokens_are_a_contiguous_run_of_title_tokens(
    title: str, data: st.DataObject
) -> None:
    start = data.draw(st.integers(0, len(title) - 2))
    end = data.draw(st.integers(start + 2, len(title)))
    q = query_tokens(title[start:end])
    tokens = index_tokens(title)
    assert set(q) <= set(tokens)
    main = tokens[: len(title) - 1]
    assert any(main[i : i + len(q)] == q for i in range(len(main) - len(q) + 1))
    assert (" " + " ".join(q) + " ") in index_text(title)


@given(cjk_titles, st.text(alphabet=cjk_chars, min_size=1, max_size=1))
def test_single_character_queries_find_every_title_containing_it(title: str, ch: str) -> None:
    assert (ch in title) == ((" " + ch + " ") in index_text(title))


@given(st.text(max_size=40))
def test_tokens_are_letters_and_digits_only(text: str) -> None:
    for token in index_tokens(text):
        assert token and all(c.isalnum() for c in token)
        assert not any(c in token for c in '"%_\\* ')


def test_is_cjk() -> None:
    assert all(is_cjk(c) for c in "红樓ひカ한〇々𠀀")
    assert not any(is_cjk(c) for c in "aZ9é·“")


@given(st.text(max_size=30))
def test_fts5_unicode61_keeps_our_tokens_whole(text: str) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'unicode61 remove_diacritics 0')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row')")
    db.execute("INSERT INTO t (x) VALUES (?)", (index_text(text),))
    assert {row[0] for row in db.execute("SELECT term FROM v")} == set(index_tokens(text))
