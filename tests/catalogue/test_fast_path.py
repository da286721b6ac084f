"""The bulk import's fast path (ISO 2709 read without pymarc) against the full reader.

``read_iso2709_fast`` reads clean records straight from their bytes and declines the rest;
whatever it accepts must give exactly what the full reader + pymarc give: flavour, charset
decision, warnings, access points, holdings, match keys, the stored bytes and the row. The
same for the import's per-record preparation, on generated records (clean, with lying or
absent declarations, GB18030, and damaged) and on every real ISO 2709 sample.
"""

from __future__ import annotations

import dataclasses
import pickle
import re
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pymarc
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ils_bridge.catalogue import store as catalogue_store
from ils_bridge.catalogue.access import (
    KEY_STEPS,
    _check_plain_isbn,
    _clean,
    _import_points,
    _isbn13,
    access_points,
    casefold,
    extract_access_points,
    extract_holdings,
    field_map,
    holdings_of,
    match_keys,
    nfkc,
    normalise_key_text,
    strip_non_sorting,
    strip_punctuation_and_spaces,
)
from ils_bridge.catalogue.model import Charset, Flavour, Position, ReadRecord
from ils_bridge.catalogue.profiles import FieldRule, profile_for, rule_values
from ils_bridge.catalogue.reader import (
    _split_iso2709,
    read_iso2709,
    read_iso2709_fast,
    read_path,
)
from ils_bridge.catalogue.search import (
    _prepare,
    _runs,
    _runs_slow,
    index_text,
    index_tokens,
    is_cjk,
)
from ils_bridge.catalogue.writer import iso2709_from_texts, to_iso2709
from ils_bridge.codes import (
    Code,
    check_isbn,
    ean13_check_digit,
    extract_isbn,
    isbn10_check_digit,
    normalise_issn,
)

# ---------------------------------------------------------------------------------------
# generated records

_TAGS = [
    "001", "005", "008", "010", "011", "020", "022", "041", "084", "100", "101", "200",
    "210", "225", "245", "246", "260", "264", "300", "500", "606", "650", "690", "700",
    "701", "710", "801", "852", "905", "906", "952",
]  # fmt: skip
_TEXT = st.text(
    alphabet=st.sampled_from(
        list("红楼梦中国发展报告曹雪芹叶震研究") + list("abcXYZ xé") + list("0123456789-X")
        + list(" /:;,=.()") + ["\u0088", "\u0089", "ß", "ｆ", "\u3000", "Ä"]
    ),
    max_size=14,
)  # fmt: skip
_CODES = st.sampled_from(list("abcdefhipsvxyz2469"))
_INDICATORS = st.sampled_from([" ", "0", "1", "4", "7", "#"])
_ISBNS = st.sampled_from(
    ["7-5037-1744-0", "9787503717444", "7503717440 (精装)", "978-7-04-010937-5", "123", "X"]
)


@st.composite
def _data_field(draw: st.DrawFn, tag: str) -> str:
    inds = draw(_INDICATORS) + draw(_INDICATORS)
    subs = draw(st.lists(st.tuples(_CODES, _TEXT | _ISBNS), min_size=0, max_size=4))
    if tag == "100" and draw(st.booleans()):
        date = draw(st.sampled_from(["20240101d1994    em y0chiy50      ea", "19990101d2001"]))
        declaration = draw(st.sampled_from(["50  ", "0120", "0121", "01  ", "    "]))
        subs.insert(0, ("a", date[:26].ljust(26) + declaration + date[30:]))
    return inds + "".join(f"\x1f{code}{value}" for code, value in subs)


@st.composite
def _record(draw: st.DrawFn) -> bytes:
    """A well-formed ISO 2709 record in UTF-8 or GB18030, maybe damaged a little."""
    tags = sorted(draw(st.lists(st.sampled_from(_TAGS), min_size=1, max_size=9)))
    fields: list[tuple[str, str]] = []
    for tag in tags:
        if tag < "010":
            fields.append((tag, draw(_TEXT)))
        else:
            fields.append((tag, draw(_data_field(tag))))
    codec = draw(st.sampled_from(["utf-8", "utf-8", "gb18030"]))
    leader9 = draw(st.sampled_from(["a", " ", "a"]))
    directory = b""
    body = b""
    for tag, text in fields:
        data = text.encode(codec) + b"\x1e"
        directory += f"{tag}{len(data):04d}{len(body):05d}".encode()
        body += data
    base = 24 + len(directory) + 1
    total = base + len(body) + 1
    status = draw(st.sampled_from(["nam", "cam"]))
    leader = f"{total:05d}{status} {leader9}22{base:05d}   4500"
    record = leader.encode() + directory + b"\x1e" + body + b"\x1d"
    damage = draw(st.sampled_from(["none"] * 6 + ["byte", "leader", "cut"]))
    if damage == "byte":
        at = draw(st.integers(0, len(record) - 1))
        record = record[:at] + bytes([draw(st.integers(0, 255))]) + record[at + 1 :]
    elif damage == "leader":
        record = record[:9] + b"#" + record[10:]
    elif damage == "cut":
        record = record[: draw(st.integers(24, len(record) - 1))] + b"\x1d"
    return record


# ---------------------------------------------------------------------------------------
# the comparisons


def _full(chunk: bytes, charset: Charset | None, flavour: Flavour | None) -> ReadRecord | None:
    results = list(read_iso2709(chunk, charset=charset, flavour=flavour))
    if len(results) != 1:  # damage put a record terminator inside: not one record
        return None
    return results[0] if isinstance(results[0], ReadRecord) else None


def assert_reader_agrees(
    chunk: bytes, charset: Charset | None = None, flavour: Flavour | None = None
) -> bool:
    """The fast reader, when it accepts ``chunk``, gives what the full reader gives. Returns
    whether it accepted."""
    fast = read_iso2709_fast(chunk, charset, flavour)
    if fast is None:
        return False
    full = _full(chunk, charset, flavour)
    assert full is not None, "the fast reader accepted a record the full reader refuses"
    assert fast.flavour is full.flavour
    assert fast.charset == full.charset
    assert fast.warnings == full.warnings
    assert fast.leader == str(full.record.leader)
    assert fast.fields == field_map(full.record)
    assert [tag for tag, _ in fast.texts] == [f.tag for f in full.record.fields]
    assert access_points(fast.fields, fast.flavour) == extract_access_points(
        full.record, full.flavour
    )
    assert holdings_of(fast.fields, fast.flavour) == extract_holdings(full.record, full.flavour)
    try:
        expected: bytes | None = to_iso2709(full.record, full.flavour, Charset.UTF8)
    except Exception:
        expected = None
    if expected is not None:
        assert iso2709_from_texts(fast.leader, fast.texts, fast.flavour) == expected
    return True


def _prepared_view(p: object) -> object:
    if isinstance(p, catalogue_store.ImportFailure):
        return p
    assert isinstance(p, catalogue_store._Prepared)
    return (
        p.file,
        p.position,
        p.flavour,
        p.keys,
        p.strong,
        p.holding_fields,
        p.holdings,
        p.row,
        p.warned,
    )


def assert_prepare_agrees(
    chunk: bytes, charset: Charset | None = None, flavour: Flavour | None = None
) -> None:
    """The import's preparation of ``chunk`` (fast path when it can) is the full path's."""
    position = Position(index=3, offset=1234)
    got = catalogue_store._prepare_iso("f.iso", position, chunk, charset, flavour)
    # the first record, as _prepare_iso takes it (damage can put a record terminator first)
    result = next(iter(read_iso2709(chunk, charset=charset, flavour=flavour)))
    if isinstance(result, ReadRecord):
        want = catalogue_store._prepare("f.iso", dataclasses.replace(result, position=position))
    else:
        want = catalogue_store.ImportFailure("f.iso", position, result.reason)
    assert _prepared_view(got) == _prepared_view(want)
    if isinstance(got, catalogue_store._Prepared):
        # what a worker sends is what the parent gets
        back = pickle.loads(pickle.dumps(got, protocol=pickle.HIGHEST_PROTOCOL))
        assert _prepared_view(back) == _prepared_view(got)


@given(_record())
def test_fast_reader_agrees_with_the_full_reader(chunk: bytes) -> None:
    assert_reader_agrees(chunk)
    assert_prepare_agrees(chunk)


@given(
    _record(),
    st.sampled_from([None, Charset.UTF8, Charset.GB18030, Charset.MARC8]),
    st.sampled_from([None, Flavour.CNMARC, Flavour.MARC21, Flavour.UNIMARC]),
)
def test_fast_path_agrees_under_overrides(
    chunk: bytes, charset: Charset | None, flavour: Flavour | None
) -> None:
    assert_reader_agrees(chunk, charset, flavour)
    assert_prepare_agrees(chunk, charset, flavour)


def test_generated_clean_records_take_the_fast_path() -> None:
    # the property tests above must exercise the fast reader, not only its refusals
    import random

    from bench.bench_catalogue_import import record  # the benchmark's own records

    rng = random.Random(7)
    for i in range(40):
        assert assert_reader_agrees(record(i, rng))


def _iso_samples(samples: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(samples.rglob("*")):
        if path.suffix in (".mrc", ".dat", ".iso"):
            for _, chunk in _split_iso2709(path.read_bytes()):
                yield str(path.relative_to(samples)), chunk


def test_real_samples_agree(samples: Path) -> None:
    fast = 0
    for name, chunk in _iso_samples(samples):
        try:
            fast += assert_reader_agrees(chunk)
            assert_prepare_agrees(chunk)
        except AssertionError as exc:  # pragma: no cover - the message says which record
            raise AssertionError(f"{name}: {exc}") from exc
    assert fast >= 10  # the derived CNMARC files (UTF-8 and GB18030) and clean MARC21 ones


def test_gb18030_sample_is_read_fast_and_stored_as_utf8(samples: Path) -> None:
    data = (samples / "derived/cnmarc_bnu_alma_first3.gb18030.iso").read_bytes()
    for _, chunk in _split_iso2709(data):
        fast = read_iso2709_fast(chunk)
        assert fast is not None and fast.charset.used is Charset.GB18030
        stored = iso2709_from_texts(fast.leader, fast.texts, fast.flavour)
        (back,) = list(read_iso2709(stored))
        assert isinstance(back, ReadRecord) and back.charset.used is Charset.UTF8
        assert not back.charset.declaration_lied


def test_worker_and_in_process_imports_store_the_same(
    tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ils_bridge.catalogue.store import Catalogue
    from ils_bridge.store import migrate
    from ils_bridge.store.engine import open_store

    chunks = [chunk for _, chunk in _iso_samples(samples)]
    bad = b"00026nam  2200025   4500\x1e\x1d"  # a record with no fields: a failure
    data = b"".join(chunks * 3) + bad + b"".join(chunks[:2])  # duplicates: merges in the batch
    monkeypatch.setattr(catalogue_store, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(catalogue_store, "_PARALLEL_GROUP", 3)  # many jobs, numbered right
    rows = []
    for workers in (1, 2):
        store = open_store(f"sqlite:///{tmp_path / f'w{workers}.sqlite3'}")
        migrate.upgrade(store)
        summary = Catalogue(store).import_records([("all.iso", data)], workers=workers)
        with store.read() as conn:
            rows.append(
                (
                    summary.new,
                    summary.merged,
                    summary.rejected,
                    [(f.position, f.reason) for f in summary.failures],
                    conn.exec_driver_sql(
                        "SELECT id, title, author, isbn, marc, title_key, search_title, "
                        "search_author, search_subject FROM bibs ORDER BY id"
                    ).all(),
                    conn.exec_driver_sql("SELECT * FROM bib_isbns ORDER BY 1, 2").all(),
                )
            )
        store.dispose()
    assert rows[0] == rows[1]
    assert rows[0][0] > 0 and rows[0][1] > 0
    assert 3 * len(chunks) in [position.index for position, _ in rows[0][3]]  # the bad one


# ---------------------------------------------------------------------------------------
# the small shortcuts, each against what it stands for


@given(
    st.lists(
        st.sampled_from([*"0123456789-Xx (", "（", "０", "\u2010", "ISBN", ":", "é", "\n"]),
        max_size=16,
    ).map("".join)
)
@example("7-5037-1744-0")
@example("7503717440 (pbk.)")
@example("9787503717444\n")
@example("978-7-04-010937-5 精装")
def test_isbn13_is_extract_isbn(raw: str) -> None:
    result = extract_isbn(raw)
    assert _isbn13(raw) == (result.value if isinstance(result, Code) else None)


_NSB = re.compile("[\u0088\u0089\u0098\u009c]")
_TRAILING = re.compile(r"[\s/:;,=]+$")
_LEADING = re.compile(r"^[\s/:;,=]+")


def _clean_reference(value: str, flavour: Flavour, keep_markers: bool) -> str:
    if not keep_markers:
        value = _NSB.sub("", value)
    value = _TRAILING.sub("", _LEADING.sub("", value.strip()))
    if (
        flavour is Flavour.MARC21
        and value.endswith(".")
        and not value.endswith("..")
        and (len(value) < 3 or value[-3] != " ")
    ):
        value = value[:-1]
    return value.strip()


@given(
    st.text(alphabet=st.sampled_from(list("ab红 ./:;,=\u0088\u0089\u3000\n\x1c\xa0J"))),
    st.sampled_from(list(Flavour)),
    st.booleans(),
)
def test_clean_shortcut_changes_nothing(value: str, flavour: Flavour, keep: bool) -> None:
    assert _clean(value, flavour, keep) == _clean_reference(value, flavour, keep)


@given(st.lists(st.text(max_size=12) | st.none(), max_size=4))
def test_cached_index_text_is_the_tokens(texts: list[str | None]) -> None:
    tokens = [t for text in texts if text for t in index_tokens(text)]
    assert index_text(*texts) == (" " + " ".join(tokens) + " " if tokens else "")
    assert index_text(*texts) == index_text(*texts)  # and again, from the cache


def test_match_keys_from_fields_are_the_records(samples: Path) -> None:
    for _, chunk in _iso_samples(samples):
        full = _full(chunk, None, None)
        if full is not None:
            a = access_points(field_map(full.record), full.flavour)
            assert match_keys(a) == match_keys(extract_access_points(full.record, full.flavour))


def test_nfkc_helper_is_unicodedata() -> None:  # the tests above rely on it
    assert unicodedata.normalize("NFKC", "ｆ") == "f"


# ---------------------------------------------------------------------------------------
# access points and match keys against a reference: the profile rules read through pymarc
# (profiles.rule_values), the cleaning, ISBN and key steps as first written


def _reference_points(record: pymarc.Record, flavour: Flavour) -> tuple[object, ...]:
    """The fields of AccessPoints, in order, as the first implementation computed them."""
    profile = profile_for(flavour)

    def clean(value: str, keep_markers: bool = False) -> str:
        return _clean_reference(value, flavour, keep_markers)

    def first_values(rules: tuple[FieldRule, ...]) -> list[str]:
        return [c for picked in rule_values(record, rules) for _, v in picked if (c := clean(v))]

    def dedup(values: list[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for v in values if v))

    def subfield_a(tag: str) -> str | None:
        for f in record.get_fields(tag):
            if not f.is_control_field():
                for sf in f.subfields:
                    if sf.code == "a":
                        return str(sf.value)
        return None

    def control(tag: str) -> str:
        for f in record.get_fields(tag):
            if f.is_control_field() and f.data:
                return str(f.data)
        return ""

    title = proper = None
    picked_fields = rule_values(record, (profile.title,))
    if picked_fields:
        full: list[str] = []
        marked: list[str] = []
        for code, raw in picked_fields[0]:
            value = clean(raw)
            if not value:
                continue
            if code in profile.title_main_codes:
                sep = " ; " if full else ""
                full.append(sep + value)
                marked.append(sep + clean(raw, keep_markers=True))
            elif code in profile.title_other_codes:
                full.append(" : " + value)
            elif code in profile.title_part_codes:
                full.append(". " + value)
                marked.append(". " + clean(raw, keep_markers=True))
        title = "".join(full).strip(" :.;") or None
        proper = "".join(marked).strip(" :.;") or None
    responsibility = [
        " ; ".join(clean(v) for _, v in picked)
        for picked in rule_values(record, profile.responsibility)
    ]

    def weak_code(raw: str) -> str | None:
        lead = re.match(r"[0-9Xx\-\s]+", unicodedata.normalize("NFKC", raw).strip())
        return (re.sub(r"[^0-9X]", "", lead.group().upper()) or None) if lead else None

    def isbn13(raw: str) -> str | None:
        result = extract_isbn(raw)
        return result.value if isinstance(result, Code) else None

    valid: set[str] = set()
    weak: set[str] = set()
    for rules, strong in ((profile.isbn, True), (profile.invalid_isbn, False)):
        for picked in rule_values(record, rules):
            for _, raw in picked:
                if (isbn := isbn13(raw)) is not None:
                    (valid if strong else weak).add(isbn)
                elif (w := weak_code(raw)) is not None:
                    weak.add(w)
    issns: set[str] = set()
    weak_issns: set[str] = set()
    for rules, strong in ((profile.issn, True), (profile.invalid_issn, False)):
        for picked in rule_values(record, rules):
            for _, raw in picked:
                result = normalise_issn(raw.strip().split(" ")[0] if raw.strip() else "")
                if isinstance(result, Code):
                    (issns if strong else weak_issns).add(result.value)
                elif (w := weak_code(raw)) is not None:
                    weak_issns.add(w)
    year = None
    for value in first_values(profile.dates):
        if m := re.search(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)", value):
            year = int(m.group(1))
            break
    else:
        candidate = (
            control("008")[7:11] if flavour is Flavour.MARC21 else (subfield_a("100") or "")[9:13]
        )
        year = int(candidate) if re.fullmatch(r"(1[5-9]\d\d|20\d\d)", candidate) else None
    if flavour is Flavour.MARC21:
        candidates = [control("008")[35:38], *first_values(profile.language)]
    else:
        candidates = [*first_values(profile.language), (subfield_a("100") or "")[22:25]]
    language = next(
        (c for c in (c.strip().lower()[:3] for c in candidates) if re.match(r"^[a-z]{3}$", c)),
        None,
    )
    local = control("001")
    return (
        flavour,
        dedup([title or "", *first_values(profile.variant_titles)]),
        proper,
        responsibility[0] if responsibility and responsibility[0] else None,
        dedup(
            [
                ", ".join(p for p in (clean(v) for _, v in picked) if p)
                for picked in rule_values(record, profile.authors)
            ]
        ),
        frozenset(valid),
        frozenset(weak - valid),
        frozenset(issns),
        frozenset(weak_issns - issns),
        dedup([v.replace(" ", "") for v in first_values(profile.clc)]),
        dedup(first_values(profile.publishers)),
        year,
        dedup(
            [
                "--".join(p for p in (clean(v) for _, v in picked) if p)
                for picked in rule_values(record, profile.subjects)
            ]
        ),
        local.strip() if local else None,
        language,
    )


def _reference_key_text(text: str) -> str:
    for step in (strip_non_sorting, nfkc, casefold, strip_punctuation_and_spaces):
        text = step(text)
    return text


def assert_points_agree(record: pymarc.Record, flavour: Flavour) -> None:
    """access_points, match_keys and the import's shortcut against the reference."""
    fields = field_map(record)
    got = access_points(fields, flavour)
    want = _reference_points(record, flavour)
    assert dataclasses.astuple(got) == want
    title_proper, authors, year = want[2], want[4], want[11]
    assert isinstance(authors, tuple)
    title = _reference_key_text(str(title_proper or ""))
    author = _reference_key_text(authors[0]) if authors else ""
    keys = match_keys(got)
    assert keys.title_key == (
        f"{title}|{author}|{year if year is not None else ''}" if title else None
    )
    assert match_keys(got, list(KEY_STEPS)) == keys  # the steps given, not the shortcut
    values, import_keys = _import_points(fields, flavour)
    assert values == (*want[:-1], None)
    assert import_keys == keys


def _pymarc_record(chunk: bytes) -> tuple[pymarc.Record, Flavour] | None:
    full = _full(chunk, None, None)
    return (full.record, full.flavour) if full is not None else None


@given(_record(), st.sampled_from(list(Flavour)))
def test_access_points_agree_with_the_reference(chunk: bytes, flavour: Flavour) -> None:
    read = _pymarc_record(chunk)
    if read is not None:
        assert_points_agree(read[0], read[1])
        assert_points_agree(read[0], flavour)


def test_real_samples_access_points_agree_with_the_reference(samples: Path) -> None:
    for path in sorted(samples.rglob("*")):
        if path.suffix in (".mrc", ".dat", ".iso", ".xml"):
            for result in read_path(path):
                if isinstance(result, ReadRecord):
                    assert_points_agree(result.record, result.flavour)


@st.composite
def _marked_record(draw: st.DrawFn) -> tuple[pymarc.Record, Flavour]:
    """Records whose title, names and dates carry ISBD marks, markers, blanks, full stops
    (and digits: years)."""
    text = st.text(
        alphabet=st.sampled_from(list("ab红 .:;/,=\u0088\u0089\u0098\u009c\u3000\xa0J\n1902")),
        max_size=10,
    )
    flavour = draw(st.sampled_from(list(Flavour)))
    record = pymarc.Record()
    title_tag = "245" if flavour is Flavour.MARC21 else "200"
    for tag, codes in ((title_tag, "abcdefhinp"), ("700", "ab"), ("260", "bc"), ("210", "cd")):
        for _ in range(draw(st.integers(0, 2))):
            subs = draw(st.lists(st.tuples(st.sampled_from(codes), text), max_size=4))
            record.fields.append(
                pymarc.Field(
                    tag=tag,
                    indicators=pymarc.Indicators(" ", draw(st.sampled_from([" ", "1"]))),
                    subfields=[pymarc.Subfield(code=c, value=v) for c, v in subs],
                )
            )
    record.fields.append(pymarc.Field(tag="001", data=draw(text)))
    return record, flavour


@given(_marked_record())
def test_titles_and_names_agree_with_the_reference(drawn: tuple[pymarc.Record, Flavour]) -> None:
    assert_points_agree(*drawn)


# ---------------------------------------------------------------------------------------
# the text shortcuts, against their definitions


def test_every_letter_or_digit_is_kept_in_match_keys() -> None:
    # _default_key_text returns text that isalnum() as is: strip_punctuation_and_spaces
    # drops P*, S*, Z* and C*, never a letter or a digit
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char.isalnum():
            assert unicodedata.category(char)[0] not in "PSZC", hex(code)


def test_cjk_unified_ideographs_are_left_alone() -> None:
    # the shortcuts for text of U+4E00..U+9FFF only (search and match keys)
    for code in range(0x4E00, 0xA000):
        char = chr(code)
        assert char.isalnum() and is_cjk(char), hex(code)
        assert unicodedata.normalize("NFKC", char) == char == char.casefold(), hex(code)


_KEY_TEXT = st.text(
    alphabet=st.sampled_from(
        [
            *"红楼梦中國発abcXYZ 0123 ß'’`＇.,:;!-—ＰＥｆ５\u3000\xa0\n\t",
            "\u0088",
            "\u0089",
            "\u0098",
            "\u009c",
            "\u00e9",
            "\u0301",
            "\u0300",
            "\U00020000",
        ]
    ),
    max_size=16,
)
_HAN = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=12)


@given(_KEY_TEXT | _HAN)
def test_key_text_shortcut_is_the_steps(text: str) -> None:
    assert normalise_key_text(text) == _reference_key_text(text)
    assert normalise_key_text(text, list(KEY_STEPS)) == _reference_key_text(text)


@given(st.lists(_KEY_TEXT | _HAN | st.text(max_size=12) | st.none(), max_size=4))
def test_index_text_is_the_tokens(texts: list[str | None]) -> None:
    tokens = [t for text in texts if text for t in index_tokens(text)]
    assert index_text(*texts) == (" " + " ".join(tokens) + " " if tokens else "")
    for text in texts:
        if text:
            assert _runs(_prepare(text)) == _runs_slow(_prepare(text))


@given(
    st.text(alphabet=st.sampled_from(list("0123456789")), min_size=9, max_size=18),
    st.sampled_from(["", "X", "check", "978", "979"]),
)
def test_plain_isbn_check_is_check_isbn(digits: str, how: str) -> None:
    if how == "X":
        digits = digits[:9] + "X"
    elif how == "check":
        digits = digits[:9] + isbn10_check_digit(digits[:9])
    elif how:
        body = how + digits[3:12].ljust(9, "0")
        digits = (body + ean13_check_digit(body) + digits[13:])[: max(13, len(digits))]
    checked = check_isbn(digits)
    assert _check_plain_isbn(digits) == (checked if isinstance(checked, str) else None)
    for raw in (digits, f"{digits[:1]}-{digits[1:5]}-{digits[5:]}", f"{digits} (pbk.)"):
        result = extract_isbn(raw)
        assert _isbn13(raw) == (result.value if isinstance(result, Code) else None)
