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
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ils_bridge.catalogue import store as catalogue_store
from ils_bridge.catalogue.access import (
    _clean,
    _isbn13,
    access_points,
    extract_access_points,
    extract_holdings,
    field_map,
    holdings_of,
    match_keys,
)
from ils_bridge.catalogue.model import Charset, Flavour, Position, ReadRecord
from ils_bridge.catalogue.reader import _split_iso2709, read_iso2709, read_iso2709_fast
from ils_bridge.catalogue.search import index_text, index_tokens
from ils_bridge.catalogue.writer import iso2709_from_texts, to_iso2709
from ils_bridge.codes import Code, extract_isbn

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
    (result,) = list(read_iso2709(chunk, charset=charset, flavour=flavour))
    return result if isinstance(result, ReadRecord) else None


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
    (result,) = list(read_iso2709(chunk, charset=charset, flavour=flavour))
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
