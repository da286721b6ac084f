"""Association state machine: an in-memory origin/target pair, errors, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.z3950.apdu import (
    AttributesPlusTerm,
    Close,
    CloseReason,
    DefaultDiag,
    InitRequest,
    InitResponse,
    PresentRequest,
    PresentResponse,
    RpnQuery,
    SearchRequest,
    SearchResponse,
    UnknownPdu,
    encode_pdu,
)
from protocols.z3950.ber import CONTEXT, BerLimits, Tlv
from protocols.z3950.connection import (
    CONNECTION_CLOSED,
    NEED_DATA,
    PAUSED,
    Association,
    Event,
    LocalProtocolError,
    RemoteProtocolError,
    Role,
    State,
)

from .strategies import PDUS

SEARCH = SearchRequest(query=RpnQuery(AttributesPlusTerm((), b"x")))


def events(assoc: Association, data: bytes) -> list[Event]:
    assoc.receive_data(data)
    out = []
    while (e := assoc.next_event()) is not NEED_DATA and e is not PAUSED:
        out.append(e)
        if e is CONNECTION_CLOSED:
            break
    return out


def test_full_association_in_memory() -> None:
    origin, target = Association(Role.ORIGIN), Association(Role.TARGET)
    assert events(target, origin.send(InitRequest())) == [InitRequest()]
    assert target.state is State.INITIALISING
    assert events(origin, target.send(InitResponse(True))) == [InitResponse(True)]
    assert (origin.state, target.state) == (State.OPEN, State.OPEN)
    assert events(target, origin.send(SEARCH)) == [SEARCH]
    assert target.pending == 1
    events(origin, target.send(SearchResponse(1, True)))
    assert events(target, origin.send(PresentRequest("default", 1, 1))) == [
        PresentRequest("default", 1, 1)
    ]
    events(origin, target.send(PresentResponse(1, 0, 0)))
    assert origin.pending == target.pending == 0
    assert events(target, origin.send(Close())) == [Close()]
    assert target.state is State.CLOSE_RECEIVED
    assert events(origin, target.send(Close(0, "bye"))) == [Close(0, "bye"), CONNECTION_CLOSED]
    assert origin.state is target.state is State.CLOSED


def test_byte_at_a_time() -> None:
    origin, target = Association(Role.ORIGIN), Association(Role.TARGET)
    wire = origin.send(InitRequest(implementation_name="名字" * 100))
    got: list[Event] = []
    for i in range(len(wire)):
        got += events(target, wire[i : i + 1])
    assert got == [InitRequest(implementation_name="名字" * 100)]


def test_every_split_point_of_a_capture_session(captures: dict[str, bytes]) -> None:
    names = [n for n in captures if n.startswith("ztest-basic/")]
    requests = b"".join(captures[n] for n in names if int(n[-3:]) % 2 == 1)
    expected = None
    for split in range(len(requests) + 1):
        target = Association(Role.TARGET)
        got: list[Event] = []
        # Drive the target, answering each request with the captured response.
        for chunk in (requests[:split], requests[split:]):
            target.receive_data(chunk)
            while (ev := target.next_event()) is not NEED_DATA and ev is not CONNECTION_CLOSED:
                got.append(ev)
                if isinstance(ev, InitRequest):
                    target.send(InitResponse(True))
                elif isinstance(ev, SearchRequest):
                    target.send(SearchResponse(1, True))
                elif isinstance(ev, PresentRequest):
                    target.send(PresentResponse(1, 2, 0))
                elif isinstance(ev, Close):
                    target.send(Close())
                    break
        if expected is None:
            expected = got
        assert got == expected
    assert expected is not None
    assert [type(e) for e in expected] == [InitRequest, SearchRequest, PresentRequest, Close]


def open_target() -> Association:
    target = Association(Role.TARGET)
    events(target, encode_pdu(InitRequest()))
    target.send(InitResponse(True))
    return target


def test_search_before_init_is_a_protocol_error() -> None:
    target = Association(Role.TARGET)
    with pytest.raises(RemoteProtocolError) as err:
        events(target, encode_pdu(SEARCH))
    assert err.value.close.close_reason == CloseReason.PROTOCOL_ERROR
    assert "before a successful Init" in str(err.value)
    # Sticky: the same error again, and only the Close may be sent, once.
    with pytest.raises(RemoteProtocolError):
        target.next_event()
    with pytest.raises(LocalProtocolError):
        target.send(SearchResponse(0, False))
    assert target.send(err.value.close).startswith(b"\xbf\x30")
    assert target.state is State.CLOSED


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (encode_pdu(InitRequest()), "second InitRequest"),
        (encode_pdu(SearchResponse(0, True)), "sent to a target"),
        (bytes.fromhex("bf2b00"), "unsupported PDU"),
        (bytes.fromhex("0400"), "malformed"),
        (bytes.fromhex("b484ffffffff"), "malformed"),
        (b"\xb6\x80" * 100, "malformed"),
    ],
)
def test_target_rejects(wire: bytes, message: str) -> None:
    target = open_target()
    with pytest.raises(RemoteProtocolError, match=message) as err:
        events(target, wire)
    assert err.value.close.close_reason == CloseReason.PROTOCOL_ERROR


def test_pdu_over_the_size_limit() -> None:
    target = Association(Role.TARGET, BerLimits(max_pdu_size=64))
    with pytest.raises(RemoteProtocolError, match="exceeds"):
        events(target, encode_pdu(InitRequest(implementation_name="x" * 100)))


def test_trigger_resource_control_is_ignored() -> None:
    target = open_target()
    assert events(target, bytes.fromhex("bf2000")) == [UnknownPdu(32, Tlv(CONTEXT, 32, True))]
    assert target.pending == 0


def test_eof() -> None:
    target = open_target()
    target.receive_data(encode_pdu(SEARCH)[:5])
    target.receive_data(b"")
    with pytest.raises(RemoteProtocolError, match="inside a PDU"):
        target.next_event()
    clean = open_target()
    assert events(clean, b"") == [CONNECTION_CLOSED]


def test_origin_rules() -> None:
    origin = Association(Role.ORIGIN)
    with pytest.raises(LocalProtocolError):
        origin.send(SEARCH)
    with pytest.raises(LocalProtocolError):
        origin.send(SearchResponse(0, True))
    origin.send(InitRequest())
    with pytest.raises(LocalProtocolError):
        origin.send(InitRequest())
    with pytest.raises(RemoteProtocolError, match="unexpected SearchResponse"):
        events(origin, encode_pdu(SearchResponse(0, True)))


def test_refused_init_closes() -> None:
    origin = Association(Role.ORIGIN)
    origin.send(InitRequest())
    events(origin, encode_pdu(InitResponse(False)))
    assert origin.state is State.CLOSED
    target = Association(Role.TARGET)
    events(target, encode_pdu(InitRequest()))
    target.send(InitResponse(False))
    assert target.state is State.CLOSED


def test_target_may_close_first() -> None:
    origin, target = Association(Role.ORIGIN), Association(Role.TARGET)
    events(target, origin.send(InitRequest()))
    events(origin, target.send(InitResponse(True)))
    events(target, origin.send(SEARCH))
    events(origin, target.send(Close(CloseReason.SHUTDOWN)))
    assert origin.state is State.CLOSE_RECEIVED
    with pytest.raises(LocalProtocolError):
        origin.send(SEARCH)
    events(target, origin.send(Close()))
    assert origin.state is target.state is State.CLOSED


def test_response_without_request_is_local_error() -> None:
    target = open_target()
    with pytest.raises(LocalProtocolError):
        target.send(PresentResponse(0, 0, 5, DefaultDiag(13, "1")))
    with pytest.raises(LocalProtocolError):
        target.send(SEARCH)


@given(
    st.lists(st.one_of(PDUS.map(encode_pdu), st.binary(max_size=30)), max_size=6),
    st.lists(st.integers(1, 50), min_size=1, max_size=10),
    st.sampled_from([Role.TARGET, Role.ORIGIN]),
)
def test_only_protocol_errors_escape(chunks: list[bytes], sizes: list[int], role: Role) -> None:
    """Random PDU sequences and junk, cut at random points: NEED_DATA, events or RemoteProtocolError."""
    assoc = Association(role)
    if role is Role.ORIGIN:
        assoc.send(InitRequest())
    stream = b"".join(chunks)
    pos = 0
    i = 0
    try:
        while pos < len(stream):
            step = sizes[i % len(sizes)]
            i += 1
            assoc.receive_data(stream[pos : pos + step])
            pos += step
            while (ev := assoc.next_event()) is not NEED_DATA and ev is not PAUSED:
                if ev is CONNECTION_CLOSED:
                    return
                if role is Role.TARGET and isinstance(ev, InitRequest):
                    assoc.send(InitResponse(True))
                elif role is Role.TARGET and isinstance(ev, SearchRequest):
                    assoc.send(SearchResponse(0, True))
                elif role is Role.TARGET and isinstance(ev, PresentRequest):
                    assoc.send(PresentResponse(0, 0, 5))
                elif isinstance(ev, Close) and assoc.state is State.CLOSE_RECEIVED:
                    assoc.send(Close())
        assoc.receive_data(b"")
        assoc.next_event()
    except RemoteProtocolError as err:
        assert isinstance(err.close, Close)
        assert assoc.state is State.ERROR
        assoc.send(err.close)
