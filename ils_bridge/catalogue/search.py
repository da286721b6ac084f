"""Search tokens that make 2-character Chinese terms work in SQLite FTS5 and PostgreSQL.

Neither FTS5's ``unicode61`` tokenizer nor PostgreSQL's default parser segments Chinese:
a run of ideographs is one huge "word", so 红楼 would not find 红楼梦. We segment before the
database sees the text.

Tokenisation (:func:`index_tokens`), after NFKC + casefold + dropping UNIMARC NSB/NSE:

* the text splits into *runs*: a CJK run (Han, kana, Hangul, bopomofo, 〇/々) or a run of
  other letters/digits (a Latin "word"); anything else separates runs;
* the **main stream** has, in text order: each Latin word; for a CJK run of one character,
  that character; for a longer CJK run, its overlapping bigrams (红楼梦魇 → 红楼 楼梦 梦魇);
* the **unigram tail** follows: every character of every CJK run longer than one
  (红 楼 梦 魇), so a one-character query still finds it.

A query term (the query split on whitespace; :func:`query_phrases`) becomes the *main
stream only* of that term, to be matched as a **phrase** (consecutive tokens). Any CJK
substring of length ≥ 2 of an indexed text has a main stream that is a contiguous run of
the text's main stream, so: 红楼 finds 红楼梦, 红楼梦 finds 红楼梦魇 (phrase 红楼 楼梦), and
红梦楼 (phrase 红梦 梦楼) does not. Latin words match whole words (case-insensitively).

How the store should use it — one scheme on both back ends:

* store ``search_text = index_text(title, authors, …)``: the tokens joined by single spaces,
  with a leading and a trailing space. Tokens only hold letters/digits (never ``"``, ``%``,
  ``_``, ``\\``, ``*``), so they need no quoting.
* **SQLite FTS5**: ``CREATE VIRTUAL TABLE record_fts USING fts5(search_text,
  tokenize = "unicode61 remove_diacritics 0")`` (content may be external); query with
  ``WHERE record_fts MATCH :q`` where ``:q = fts5_match(user_query)`` — e.g.
  ``"红楼 楼梦" AND "曹雪 雪芹"`` (each term a phrase, terms ANDed). ``unicode61`` splits on our
  spaces and keeps each token whole (all token characters are letters/digits).
* **PostgreSQL pg_trgm**: ``CREATE INDEX … USING gin (search_text gin_trgm_ops)`` and, for
  each pattern of :func:`like_patterns` (``' 红楼 楼梦 '``), ``search_text LIKE '%' || :p || '%'``
  ANDed. The leading/trailing spaces pin token boundaries (``' 楼梦 '`` is in
  ``' 红楼 楼梦 梦魇 … '``, ``' 楼 '`` is not in ``' 红楼 '``); every pattern is ≥ 3
  characters, so the trigram index is used even for one-character queries (``' 梦 '``).
  ``ILIKE`` is not needed: tokens are already case-folded. Results
  are exact whatever the server locale (LIKE is rechecked); for the index to *narrow* CJK
  patterns the database's LC_CTYPE must classify ideographs as letters (``C.UTF-8``,
  ``zh_CN.UTF-8``, ``en_US.UTF-8`` do; plain ``C`` does not, and pg_trgm then scans).

An empty token list (query of punctuation only) means "no search": return no rows.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "fts5_match",
    "index_text",
    "index_tokens",
    "is_cjk",
    "like_patterns",
    "query_phrases",
    "query_tokens",
]

_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31A0, 0x31BF),  # Bopomofo extended
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK Ext A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xA960, 0xA97F),  # Hangul Jamo ext A
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3134F),  # CJK Ext B–G (SIP/TIP)
)

_NSB_NSE = re.compile("[\u0088\u0089\u0098\u009c]")


_CJK_CLASS = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CJK_RANGES) + "]")


def is_cjk(char: str) -> bool:
    """True for letters written without spaces between words (Han, kana, Hangul…).

    Only letters/digits count: radicals and other CJK symbols (So) and unassigned code
    points are separators here, as they are for FTS5's ``unicode61``."""
    return char.isalnum() and _CJK_CLASS.match(char) is not None


def _prepare(text: str) -> str:
    if _NSB_NSE.search(text) is not None:
        text = _NSB_NSE.sub("", text)
    return unicodedata.normalize("NFKC", text).casefold()


# Runs by regular expression: ``[^\W_]`` is exactly ``str.isalnum`` (re's Unicode \w is
# isalnum or "_"), so group 1 is a maximal run of is_cjk characters and group 2 one of other
# letters/digits — the same runs as the loop in _runs_slow, in C.
_CJK_SET = _CJK_CLASS.pattern[1:-1]
_RUN = re.compile(f"((?:(?=[^\\W_])[{_CJK_SET}])+)|([^\\W_{_CJK_SET}]+)")


def _runs(text: str) -> list[tuple[bool, str]]:
    """Split prepared text into (is_cjk, run) pairs; other characters separate runs."""
    return [(bool(cjk), cjk or other) for cjk, other in _RUN.findall(text)]


def _runs_slow(text: str) -> list[tuple[bool, str]]:
    """The definition of :func:`_runs`, one character at a time (the reference it matches)."""
    runs: list[tuple[bool, str]] = []
    current: list[str] = []
    current_cjk = False
    for ch in text:
        if is_cjk(ch):
            kind: bool | None = True
        elif ch.isalnum():
            kind = False
        else:
            kind = None
        if current and (kind is None or kind != current_cjk):
            runs.append((current_cjk, "".join(current)))
            current = []
        if kind is not None:
            current.append(ch)
            current_cjk = kind
    if current:
        runs.append((current_cjk, "".join(current)))
    return runs


def _main_stream(runs: list[tuple[bool, str]]) -> list[str]:
    out: list[str] = []
    for cjk, run in runs:
        if not cjk or len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def index_tokens(text: str) -> list[str]:
    """Tokens to index for ``text``: main stream, then the unigram tail (see module doc)."""
    runs = _runs(_prepare(text))
    tail = [ch for cjk, run in runs if cjk and len(run) > 1 for ch in run]
    return _main_stream(runs) + tail


class _Doubled(dict[int, str]):
    """:meth:`str.translate` table: each character to itself, a blank and itself again, so a
    run of two or more characters becomes its bigrams joined by blanks once its first two
    and last two characters are cut (红楼梦 → "红 红楼 楼梦 梦")."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        doubled = f"{char} {char}"
        if len(self) < 1 << 15:
            self[code] = doubled
        return doubled


_DOUBLED = _Doubled()


def _bigrams(run: str) -> str:
    """The overlapping bigrams of a run of two or more characters, joined by blanks."""
    return run if len(run) == 2 else run.translate(_DOUBLED)[2:-2]


#: text of CJK Unified Ideographs only: letters that NFKC, casefold and the markers' removal
#: leave alone, every one is_cjk (a test checks each code point), so one CJK run
_HAN_TEXT = re.compile("[\u4e00-\u9fff]+")


def _index_tokens_text(text: str) -> str:
    """:func:`index_tokens` joined by blanks, built a run at a time (tokens are never empty,
    so joining the joined runs is joining the tokens)."""
    runs: list[tuple[str, str]] = _RUN.findall(_prepare(text))
    if len(runs) == 1:  # a word
        cjk, other = runs[0]
        if other or len(cjk) == 1:
            return other or cjk
        return f"{_bigrams(cjk)} {' '.join(cjk)}"
    main: list[str] = []
    tail: list[str] = []
    for cjk, other in runs:
        if other:
            main.append(other)
        elif len(cjk) == 1:
            main.append(cjk)
        else:
            main.append(_bigrams(cjk))
            tail.append(" ".join(cjk))
    main += tail
    return " ".join(main)


#: text → its tokens as an index_text of that text alone (" … " or ""): publishers, subject
#: headings and names recur through a catalogue. A plain dict, emptied when full: small
#: enough to stay in the CPU's caches, where a big LRU's bookkeeping costs more than the
#: unique titles it cannot help with.
_INDEX_TEXT_CACHE: dict[str, str] = {}
_INDEX_TEXT_CACHE_SIZE = 4096


def _index_text_one(text: str) -> str:
    """``index_text(text)``, computed and cached."""
    if _HAN_TEXT.fullmatch(text) is not None:  # a Chinese name or title without digits
        if len(text) == 1:
            padded = f" {text} "
        else:  # " 红楼 楼梦 …" + "红 楼 梦 …" + " "
            padded = f"{text.translate(_DOUBLED)[1:-1]}{' '.join(text)} "
    else:
        joined = _index_tokens_text(text)
        padded = f" {joined} " if joined else ""
    if len(_INDEX_TEXT_CACHE) >= _INDEX_TEXT_CACHE_SIZE:
        _INDEX_TEXT_CACHE.clear()
    _INDEX_TEXT_CACHE[text] = padded
    return padded


def index_text(*texts: str | None) -> str:
    """The ``search_text`` column value for one or more fields (title, authors, …):
    space-separated tokens with a leading and a trailing space ("" when there are none).
    Fields are concatenated, so a phrase can occasionally span two fields' edges."""
    parts: list[str] = []
    get = _INDEX_TEXT_CACHE.get
    for text in texts:
        if text:
            padded = get(text)
            if padded is None:
                padded = _index_text_one(text)
            if padded:
                parts.append(padded)
    if len(parts) == 1:
        return parts[0]  # the cached string itself, for a text that recurs
    if len(parts) == 2:  # a name and a statement of responsibility
        return parts[0] + parts[1][1:]
    # tokens hold no blanks: the only double blanks are where two parts meet
    return "".join(parts).replace("  ", " ")


def query_tokens(text: str) -> list[str]:
    """Main-stream tokens of a single query term (no unigram tail)."""
    return _main_stream(_runs(_prepare(text)))


def query_phrases(query: str) -> list[tuple[str, ...]]:
    """One phrase (token tuple) per whitespace-separated query term; empty terms dropped."""
    phrases = []
    for term in _prepare(query).split():
        tokens = query_tokens(term)
        if tokens:
            phrases.append(tuple(tokens))
    return phrases


def fts5_match(query: str) -> str:
    """FTS5 MATCH expression: each term a quoted phrase, terms joined by AND ("" if none)."""
    return " AND ".join('"' + " ".join(p) + '"' for p in query_phrases(query))


def like_patterns(query: str) -> list[str]:
    """Substrings the ``search_text`` column must contain (ANDed), for ``LIKE '%p%'`` with a
    pg_trgm GIN index. Each pattern is a phrase with a space on both sides."""
    return [" " + " ".join(p) + " " for p in query_phrases(query)]
