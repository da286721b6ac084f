"""Framer: terminators, chunking invariance, limits and non-SIP preambles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.sip2 import ErrorKind, Framer, LocalProtocolError

FRAMES = [
    b"9300CNuser_id|COpassw0rd|AY1AZF594",
    b"990 402.00AY1AZFCB4",
    "2300020261125    131657AOCN-TEST|AA张三|AC|AD0000|".encode("gb18030"),
    "2300020261125    131657AOCN-TEST|AA张三|AC|AD0000|".encode(),
]


def frames_of(
    data: bytes | list[bytes], max_frame: int = 16384
) -> list[bytes] | LocalProtocolError:
    framer = Framer(max_frame)
    out: list[bytes] = []
    chunks = [data] if isinstance(data, bytes) else data
    try:
        for chunk in chunks:
            framer.feed(chunk)
            while (frame := framer.next_frame()) is not None:
                out.append(frame)
    except LocalProtocolError as exc:
        return exc
    return out


@pytest.mark.parametrize("terminator", [b"\r", b"\r\n", b"\n"])
@pytest.mark.parametrize("leading_lf", [False, True])
def test_terminators_give_the_same_frames(terminator: bytes, leading_lf: bool) -> None:
    stream = b"".join((b"\n" if leading_lf else b"") + f + terminator for f in FRAMES)
    assert frames_of(stream) == FRAMES


def test_a_lf_inside_a_frame_ends_it() -> None:
    # dp2-style peers end a message at CR or LF; LF is never part of a SIP2 field.
    assert frames_of(b"9300CNa|\n9900302.00\r") == [b"9300CNa|", b"9900302.00"]


def test_every_split_point() -> None:
    stream = b"".join(
        f + t for f, t in zip(FRAMES, [b"\r", b"\r\n", b"\n", b"\r\n\n"], strict=True)
    )
    for i in range(len(stream) + 1):
        assert frames_of([stream[:i], stream[i:]]) == FRAMES, i


@given(st.lists(st.integers(0, 400), max_size=12), st.sampled_from([b"\r", b"\r\n", b"\n"]))
def test_random_chunking_is_invariant(cuts: list[int], terminator: bytes) -> None:
    stream = b"".join(f + terminator for f in FRAMES)
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert frames_of(chunks) == FRAMES


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=6))
def test_arbitrary_bytes_chunking_is_invariant(stream: bytes, cuts: list[int]) -> None:
    whole = frames_of(stream, max_frame=100)
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    split = frames_of(chunks, max_frame=100)
    if isinstance(whole, LocalProtocolError):
        assert isinstance(split, LocalProtocolError) and split.kind is whole.kind
    else:
        assert split == whole


@pytest.mark.parametrize(
    "opening",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /sip HTTP/1.1\r\n",
        b"\xff\xfd\x18\xff\xfd\x20",
    ],
)
def test_non_sip_preambles_are_refused(opening: bytes) -> None:
    for i in range(1, len(opening) + 1):
        result = frames_of([opening[:i], opening[i:]])
        assert isinstance(result, LocalProtocolError)
        assert result.kind is ErrorKind.NOT_SIP


def test_preamble_prefix_waits_then_decides() -> None:
    framer = Framer()
    framer.feed(b"G")
    assert framer.next_frame() is None
    framer.feed(b"E\r")  # "GE" is not an HTTP verb: it is (a bad) frame
    assert framer.next_frame() == b"GE"


def test_nul_is_an_error_after_the_good_frames() -> None:
    framer = Framer()
    framer.feed(b"990 402.00AY1AZFCB4\r99\x00")
    assert framer.next_frame() == b"990 402.00AY1AZFCB4"
    with pytest.raises(LocalProtocolError) as info:
        framer.next_frame()
    assert info.value.kind is ErrorKind.NOT_SIP
    with pytest.raises(LocalProtocolError):  # sticky
        framer.next_frame()


def test_frame_size_cap() -> None:
    framer = Framer(max_frame=64)
    framer.feed(b"9" * 64)
    assert framer.next_frame() is None
    framer.feed(b"9")
    with pytest.raises(LocalProtocolError) as info:
        framer.next_frame()
    assert info.value.kind is ErrorKind.FRAME_TOO_LARGE
    assert framer.pending == 0


def test_megabyte_without_cr_is_cut_early() -> None:
    framer = Framer()
    with pytest.raises(LocalProtocolError):
        for _ in range(100):
            framer.feed(b"9" * 10_000)
            framer.next_frame()


def test_eof() -> None:
    framer = Framer()
    framer.feed(b"99")
    framer.feed(b"")
    assert framer.eof and framer.next_frame() is None
