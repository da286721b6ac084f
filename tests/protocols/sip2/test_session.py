"""Session state machines: login, AY echo, 97 replay, duplicate suppression, 96, error caps."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.sip2 import (
    CLOSED,
    MESSAGE_TYPES,
    NEED_DATA,
    PAUSED,
    RESPONSE_FOR,
    AcsSession,
    AcsStatus,
    CheckoutRequest,
    CheckoutResponse,
    CodecConfig,
    ErrorKind,
    Leniency,
    LocalProtocolError,
    LoginRequest,
    LoginResponse,
    Message,
    PatronStatusRequest,
    RemoteProtocolError,
    Replay,
    RequestAcsResend,
    RequestScResend,
    ScSession,
    ScStatusRequest,
    SessionConfig,
    checksum,
    encode,
)

NINETY_SIX = b"96AZFEF6\r"


def respond(request: Message) -> Message:
    """A generic well-formed response to any request."""
    if isinstance(request, LoginRequest):
        return LoginResponse(ok="1" if request.login_password == "good" else "0")
    cls = MESSAGE_TYPES[RESPONSE_FOR[request.CODE]]
    return cls.create(AO="ZG", AA=request.get("AA"), AB=request.get("AB"), AF=["好"])


@dataclass
class Acs:
    """An ACS session plus a counting handler, driven in memory."""

    session: AcsSession = field(default_factory=AcsSession)
    calls: list[Message] = field(default_factory=list)

    def feed(self, data: bytes) -> bytes:
        """Feed bytes; return every byte the ACS writes back. Protocol errors propagate."""
        self.session.receive_data(data)
        out = b""
        while True:
            event = self.session.next_event()
            if event is NEED_DATA or event is CLOSED:
                return out
            if isinstance(event, Replay):
                out += event.data
                continue
            assert isinstance(event, Message)
            self.calls.append(event)
            out += self.session.send(respond(event))


def frame(msg: Message, seq: int | None = None) -> bytes:
    return encode(msg.replace(sequence=seq, checksummed=seq is not None))


LOGIN = LoginRequest.create(CN="sc01", CO="good", CP="BR01")
CHECKOUT = CheckoutRequest.create(AO="ZG", AA="P1", AB="B1", transaction_date="20261125    120000")


def logged_in() -> Acs:
    acs = Acs()
    assert acs.feed(frame(LOGIN, 0)).startswith(b"941AY0AZ")
    assert acs.session.logged_in and acs.session.login is not None
    return acs


def test_login_required() -> None:
    acs = Acs()
    with pytest.raises(RemoteProtocolError) as info:
        acs.feed(frame(CHECKOUT, 1))
    assert info.value.close and info.value.kind is ErrorKind.NOT_LOGGED_IN
    with pytest.raises(RemoteProtocolError):  # sticky
        acs.feed(b"")
    assert acs.calls == []


def test_login_not_required_and_status_before_login() -> None:
    acs = Acs(AcsSession(SessionConfig(login_required=False)))
    assert acs.feed(frame(CHECKOUT)).startswith(b"12")
    acs = Acs()
    reply = acs.feed(encode(ScStatusRequest()))
    assert reply.startswith(b"98") and acs.session.protocol_version == "2.00"
    assert not acs.session.logged_in


def test_failed_logins_close() -> None:
    acs = Acs()
    bad = LOGIN.with_field("CO", "bad")
    for i in range(3):
        assert acs.feed(frame(bad, i)).startswith(b"940")
    assert acs.session.should_close and not acs.session.logged_in


def test_sequence_is_echoed_and_checksum_added() -> None:
    acs = logged_in()
    reply = acs.feed(frame(CHECKOUT, 7))
    assert b"AY7AZ" in reply
    body = reply[:-1]
    az = body.rindex(b"AZ") + 2
    assert body[az:] == checksum(body[:az]).encode()
    assert b"AY" not in acs.feed(frame(CHECKOUT))  # no error detection: none in reply


def test_duplicate_request_runs_the_transaction_once() -> None:
    acs = logged_in()
    first = acs.feed(frame(CHECKOUT, 3))
    again = acs.feed(frame(CHECKOUT, 3))
    assert again == first
    assert [m.CODE for m in acs.calls] == ["93", "11"]
    acs.feed(frame(CHECKOUT, 4))  # new sequence: a new transaction
    assert [m.CODE for m in acs.calls] == ["93", "11", "11"]


def test_same_frame_without_sequence_is_not_deduplicated() -> None:
    acs = logged_in()
    acs.feed(frame(CHECKOUT))
    acs.feed(frame(CHECKOUT))
    assert len(acs.calls) == 3


def test_97_replays_the_last_response() -> None:
    acs = logged_in()
    last = acs.feed(frame(CHECKOUT, 1))
    assert acs.feed(encode(RequestAcsResend(checksummed=True))) == last
    assert acs.feed(encode(RequestAcsResend())) == last
    assert len(acs.calls) == 2


def test_97_without_sequence_option() -> None:
    acs = Acs(AcsSession(SessionConfig(resend_without_sequence=True, login_required=False)))
    acs.feed(frame(CHECKOUT, 1))
    again = acs.feed(encode(RequestAcsResend(checksummed=True)))
    assert b"AY" not in again and b"AZ" in again


def test_97_before_any_response_gets_96() -> None:
    acs = Acs()
    assert acs.feed(encode(RequestAcsResend(checksummed=True))) == NINETY_SIX
    assert acs.calls == []


def test_bad_checksum_gets_96_then_closes_after_three() -> None:
    acs = logged_in()
    bad = frame(CHECKOUT, 2)[:-5] + b"0000\r"
    for attempt in range(1, 4):
        with pytest.raises(RemoteProtocolError) as info:
            acs.feed(bad)
        assert info.value.reply == NINETY_SIX
        assert info.value.kind in (ErrorKind.CHECKSUM, ErrorKind.TOO_MANY_ERRORS)
        assert info.value.close is (attempt == 3)
    with pytest.raises(RemoteProtocolError) as info:
        acs.feed(frame(CHECKOUT, 3))
    assert info.value.close and info.value.reply is None
    assert len(acs.calls) == 1


def test_a_good_frame_resets_the_error_count() -> None:
    acs = logged_in()
    bad = frame(CHECKOUT, 2)[:-5] + b"0000\r"
    for _ in range(5):
        with pytest.raises(RemoteProtocolError) as info:
            acs.feed(bad)
        assert not info.value.close
        acs.feed(frame(CHECKOUT, 2))


def test_business_errors_are_never_96() -> None:
    acs = logged_in()
    with pytest.raises(RemoteProtocolError) as info:
        acs.feed(b"12 this is a response, not a request\r")
    assert info.value.reply is None
    with pytest.raises(RemoteProtocolError) as info:
        acs.feed(b"41unknown vendor message\r")
    assert info.value.reply is None and info.value.kind is ErrorKind.UNKNOWN_COMMAND


def test_preamble_closes_at_once() -> None:
    acs = Acs()
    with pytest.raises(RemoteProtocolError) as info:
        acs.feed(b"\x16\x03\x01\x00\xa5\x01\x00\x00")
    assert info.value.close and info.value.kind is ErrorKind.NOT_SIP


def test_pipelined_requests_wait_for_send() -> None:
    session = AcsSession(SessionConfig(login_required=False))
    session.receive_data(frame(CHECKOUT, 1) + frame(CHECKOUT, 2))
    first = session.next_event()
    assert isinstance(first, CheckoutRequest)
    assert session.next_event() is PAUSED
    with pytest.raises(LocalProtocolError):
        session.send(LoginResponse(ok="1"))  # does not answer a checkout
    session.send(respond(first))
    second = session.next_event()
    assert isinstance(second, CheckoutRequest) and second.sequence == 2
    session.send(respond(second))
    with pytest.raises(LocalProtocolError) as info:
        session.send(respond(second))
    assert info.value.kind is ErrorKind.STATE


def test_bind_switches_encoding_for_the_next_frames() -> None:
    session = AcsSession(SessionConfig(login_required=False))
    gb = CodecConfig(encoding="gb18030")
    status = PatronStatusRequest.create(AO="ZG", AA="张三", transaction_date="20261125    120000")
    session.receive_data(frame(LOGIN, 0) + encode(status.replace(sequence=1), gb))
    login = session.next_event()
    assert isinstance(login, LoginRequest)
    session.bind(gb)
    session.send(LoginResponse(ok="1"))
    request = session.next_event()
    assert isinstance(request, PatronStatusRequest) and request.patron_identifier == "张三"
    reply = session.send(respond(request).with_field("AE", "李四"))
    assert "李四".encode("gb18030") in reply


def test_lenient_terminal_accepts_python_sip2_checksums() -> None:
    cjk = "2300020261125    131657AOCN-TEST|AA张三|AC|AD0000|AY5AZ4665\r".encode()
    strict = Acs(AcsSession(SessionConfig(login_required=False)))
    with pytest.raises(RemoteProtocolError) as info:
        strict.feed(cjk)
    assert info.value.reply == NINETY_SIX
    lenient = Acs(
        AcsSession(SessionConfig(login_required=False, codec=CodecConfig(accept=Leniency.COMMON)))
    )
    assert lenient.feed(cjk).startswith(b"24")
    assert lenient.calls[0].leniency == Leniency.CODEPOINT_SUM


# -- client side and the in-memory pair ---------------------------------------------------------
def test_sc_session_pair() -> None:
    acs = Acs()
    sc = ScSession()
    for request in (LOGIN, ScStatusRequest(), CHECKOUT):
        out = sc.send(request)
        assert sc.pending is not None
        sent_seq = sc.pending.sequence
        sc.receive_data(acs.feed(out))
        response = sc.next_event()
        assert isinstance(response, Message)
        assert RESPONSE_FOR[request.CODE] == response.CODE
        assert response.sequence == sent_seq and sc.pending is None
        assert sc.next_event() is NEED_DATA
    assert [m.sequence for m in acs.calls] == [0, 1, 2]


def test_sc_session_asks_97_on_a_bad_response_and_sees_96() -> None:
    sc = ScSession()
    sc.send(CHECKOUT)
    sc.receive_data(b"120NNN20261125    120000AOZG|AY0AZ0000\r")
    with pytest.raises(RemoteProtocolError) as info:
        sc.next_event()
    assert info.value.reply == b"97AZFEF5\r"
    sc.receive_data(NINETY_SIX)
    assert isinstance(sc.next_event(), RequestScResend)
    assert sc.last_request is not None and sc.last_request.startswith(b"11")


def test_sequence_wraps_after_nine() -> None:
    sc = ScSession()
    seqs = [sc.send(ScStatusRequest())[10:13] for _ in range(12)]
    assert seqs[:3] == [b"AY0", b"AY1", b"AY2"] and seqs[10] == b"AY0"


# -- totality and invariants under random input -------------------------------------------------
POOL = [
    frame(LOGIN, 0),
    frame(LOGIN.with_field("CO", "bad"), 1),
    frame(CHECKOUT, 2),
    frame(CHECKOUT, 2),
    frame(CHECKOUT),
    frame(ScStatusRequest(), 3),
    encode(RequestAcsResend(checksummed=True)),
    frame(CHECKOUT, 4)[:-5] + b"0000\r",
    b"12 response\r",
    b"41vendor\r",
    b"\n\r",
    b"99\x00\r",
    b"9300",
]


@given(
    st.lists(st.sampled_from(POOL), max_size=12),
    st.lists(st.integers(1, 64), max_size=8),
    st.booleans(),
)
def test_session_is_total_and_never_runs_a_retransmission(
    frames: list[bytes], chunk_sizes: list[int], login_required: bool
) -> None:
    session = AcsSession(SessionConfig(login_required=login_required))
    stream = b"".join(frames)
    chunks, pos = [], 0
    for size in chunk_sizes or [len(stream) or 1]:
        chunks.append(stream[pos : pos + size])
        pos += size
    chunks.append(stream[pos:])
    calls: list[Message] = []
    last_key: tuple[str, int | None] | None = None
    closed = False
    for chunk in [*chunks, b""]:
        if closed:
            break
        session.receive_data(chunk)
        while True:
            try:
                event = session.next_event()
            except RemoteProtocolError as exc:
                if exc.close:
                    closed = True
                    break
                continue
            if event is NEED_DATA or event is CLOSED:
                break
            if isinstance(event, Replay):
                if event.reason == "duplicate":
                    assert (event.request.CODE, event.request.sequence) == last_key
                continue
            assert isinstance(event, Message) and event.IS_REQUEST
            calls.append(event)
            key = (event.CODE, event.sequence)
            if event.sequence is not None:
                assert key != last_key or event.CODE == "93"  # login retry may repeat
            last_key = key
            session.send(respond(event))
            if session.should_close:
                closed = True
                break
    assert all(isinstance(m, Message) for m in calls)
    assert AcsStatus.CODE == "98" and CheckoutResponse.CODE == "12"


@given(st.lists(st.binary(max_size=60) | st.sampled_from(POOL), max_size=8))
def test_session_never_raises_anything_else_on_arbitrary_bytes(chunks: list[bytes]) -> None:
    for session in (AcsSession(SessionConfig(login_required=False)), ScSession()):
        for chunk in [*chunks, b""]:
            session.receive_data(chunk)
            for _ in range(50):
                try:
                    event = session.next_event()
                except RemoteProtocolError:
                    if session.closed_by_error:
                        break
                    continue
                if isinstance(event, Message) and isinstance(session, AcsSession):
                    if event.IS_REQUEST:
                        session.send(respond(event))
                    continue
                if event is NEED_DATA or event is CLOSED or event is PAUSED:
                    break
                assert isinstance(event, Message | Replay)
