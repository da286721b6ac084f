"""Sans-I/O Z39.50 association state machine (h11 style) for both roles.

Usage, either role::

    assoc = Association(Role.TARGET)
    assoc.receive_data(chunk)          # b"" signals end of stream
    while True:
        event = assoc.next_event()     # a PDU, NEED_DATA, PAUSED or CONNECTION_CLOSED
        ...
    wire = assoc.send(pdu)             # bytes to write

Rules enforced: Init comes first (exactly once) and must be accepted before
Search/Present; each request gets one response of the matching type, in
order; either side may Close, and the other answers with Close.

Errors: a bad PDU from the peer raises :class:`RemoteProtocolError`; its
``close`` attribute is the Close PDU to send (``send(err.close)`` is still
allowed, once).  Sending something illegal raises :class:`LocalProtocolError`.
After an error the association is sticky: ``next_event`` raises the same
error again.  No other exception escapes ``next_event``.
"""

from __future__ import annotations

import enum
from collections import deque
from typing import Final, TypeAlias

from .apdu import (
    TRIGGER_RESOURCE_CONTROL_REQUEST,
    Close,
    CloseReason,
    InitRequest,
    InitResponse,
    Pdu,
    PresentRequest,
    PresentResponse,
    SearchRequest,
    SearchResponse,
    UnknownPdu,
    encode_pdu,
    pdu_from_tlv,
)
from .ber import DEFAULT_LIMITS, BerError, BerLimits, decode, frame_length
from .fastpath import decode_fast, encode_fast

__all__ = [
    "CONNECTION_CLOSED",
    "NEED_DATA",
    "PAUSED",
    "Association",
    "ConnectionClosed",
    "Event",
    "LocalProtocolError",
    "NeedData",
    "Paused",
    "ProtocolError",
    "RemoteProtocolError",
    "Role",
    "State",
]


class ProtocolError(Exception):
    """A Z39.50 protocol violation; ``close`` is the polite Close PDU to send."""

    def __init__(self, message: str, close: Close) -> None:
        super().__init__(message)
        self.close = close


class LocalProtocolError(ProtocolError):
    """We tried to send something the protocol does not allow."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something invalid; send ``close`` and drop the connection."""


class NeedData:
    """Sentinel event: feed more bytes with ``receive_data``."""

    def __repr__(self) -> str:
        return "NEED_DATA"


class ConnectionClosed:
    """Sentinel event: the association is over, or the peer closed the stream between PDUs."""

    def __repr__(self) -> str:
        return "CONNECTION_CLOSED"


class Paused:
    """Sentinel event (target): answer the request already received before reading more."""

    def __repr__(self) -> str:
        return "PAUSED"


NEED_DATA: Final = NeedData()
CONNECTION_CLOSED: Final = ConnectionClosed()
PAUSED: Final = Paused()

Event: TypeAlias = Pdu | NeedData | ConnectionClosed | Paused


class Role(enum.Enum):
    """Which end of the association we are."""

    ORIGIN = "origin"
    TARGET = "target"


class State(enum.Enum):
    """Association state (shared by both roles)."""

    IDLE = "idle"  # before Init
    INITIALISING = "initialising"  # Init request sent/received, no response yet
    OPEN = "open"
    CLOSE_SENT = "close-sent"  # we sent Close, waiting for the peer's Close
    CLOSE_RECEIVED = "close-received"  # peer sent Close, we must answer with Close
    CLOSED = "closed"
    ERROR = "error"


_RESPONSE_FOR: dict[type, type] = {
    InitRequest: InitResponse,
    SearchRequest: SearchResponse,
    PresentRequest: PresentResponse,
}
_REQUESTS = (InitRequest, SearchRequest, PresentRequest)
_RESPONSES = (InitResponse, SearchResponse, PresentResponse)


def _protocol_close(message: str) -> Close:
    return Close(CloseReason.PROTOCOL_ERROR, message[:200])


class Association:
    """One Z39.50 association, as origin or target."""

    def __init__(self, role: Role, limits: BerLimits = DEFAULT_LIMITS) -> None:
        self.role = role
        self.limits = limits
        self.state = State.IDLE
        self.init_request: InitRequest | None = None
        self.init_response: InitResponse | None = None
        self._buffer = bytearray()
        self._eof = False
        self._error: RemoteProtocolError | None = None
        # Responses owed: by us (target) or to us (origin), oldest first.
        self._pending: deque[type] = deque()

    # ------------------------------------------------------------------ receiving

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the peer; ``b""`` means the stream ended."""
        if not data:
            self._eof = True
            return
        if self.state is State.CLOSED or self._error is not None:
            return
        self._buffer += data

    def next_event(self) -> Event:
        """The next whole PDU, ``NEED_DATA``, ``PAUSED`` (target owes a response) or ``CONNECTION_CLOSED``."""
        if self._error is not None:
            raise self._error
        try:
            return self._next_event()
        except RemoteProtocolError:
            raise
        except (BerError, RecursionError) as exc:  # bad bytes from the peer
            raise self._fail(f"malformed PDU: {exc}") from exc

    def _next_event(self) -> Event:
        if self.state is State.CLOSED:
            return CONNECTION_CLOSED
        if self.role is Role.TARGET and self._pending:
            return PAUSED  # like h11: one request at a time, so Init is answered before Search
        size = frame_length(self._buffer, self.limits)
        if size is None:
            if self._eof:
                if self._buffer:
                    raise self._fail("connection closed inside a PDU")
                return CONNECTION_CLOSED
            return NEED_DATA
        buf = self._buffer
        if size == len(buf):
            raw = bytes(buf)
            buf.clear()
        else:
            raw = bytes(buf[:size])
            del buf[:size]
        pdu: Pdu | None = decode_fast(raw, self.limits)  # common requests, straight from bytes
        if pdu is None:
            pdu = pdu_from_tlv(decode(raw, self.limits))
        self._on_receive(pdu)
        return pdu

    def _fail(self, message: str) -> RemoteProtocolError:
        self.state = State.ERROR
        self._buffer.clear()
        self._error = RemoteProtocolError(message, _protocol_close(message))
        return self._error

    def _on_receive(self, pdu: Pdu) -> None:
        ours_requests = self.role is Role.TARGET
        name = type(pdu).__name__
        if isinstance(pdu, Close):
            if self.state is State.CLOSE_SENT:
                self.state = State.CLOSED
            elif self.state in (State.IDLE, State.INITIALISING, State.OPEN):
                self.state = State.CLOSE_RECEIVED
            else:
                raise self._fail(f"Close received in state {self.state.value}")
            return
        if isinstance(pdu, UnknownPdu):
            if (
                pdu.tag == TRIGGER_RESOURCE_CONTROL_REQUEST
                and self.state is State.OPEN
                and ours_requests
            ):
                return  # tolerated and ignored, as YAZ GFS does
            raise self._fail(f"unsupported PDU [{pdu.tag}]")
        if isinstance(pdu, _REQUESTS):
            if not ours_requests:
                raise self._fail(f"{name} sent to an origin")
            if isinstance(pdu, InitRequest):
                if self.state is not State.IDLE:
                    raise self._fail("second InitRequest")
                self.state = State.INITIALISING
                self.init_request = pdu
            elif self.state is not State.OPEN:
                if self.state is State.CLOSE_SENT:
                    return  # crossing a Close: the request is ignored
                raise self._fail(f"{name} before a successful Init")
            self._pending.append(_RESPONSE_FOR[type(pdu)])
            return
        # A response, received by an origin.
        if ours_requests:
            raise self._fail(f"{name} sent to a target")
        if not self._pending or self._pending[0] is not type(pdu):
            if self.state is State.CLOSE_SENT:
                return
            raise self._fail(f"unexpected {name}")
        self._pending.popleft()
        if isinstance(pdu, InitResponse):
            self.init_response = pdu
            self.state = State.OPEN if pdu.result else State.CLOSED
            # A refused Init ends the association; the target will drop the line.

    # ------------------------------------------------------------------ sending

    def send(self, pdu: Pdu) -> bytes:
        """Check that ``pdu`` may be sent now, update the state, return its bytes."""
        if self.state is State.ERROR:
            if isinstance(pdu, Close):
                self.state = State.CLOSED
                return encode_pdu(pdu)
            raise LocalProtocolError(
                "association failed; only the Close may be sent", _protocol_close("failed")
            )
        self._on_send(pdu)
        return encode_fast(pdu)

    def _local(self, message: str) -> LocalProtocolError:
        return LocalProtocolError(message, _protocol_close(message))

    def _on_send(self, pdu: Pdu) -> None:
        name = type(pdu).__name__
        if self.state is State.CLOSED:
            raise self._local(f"cannot send {name}: association closed")
        if isinstance(pdu, Close):
            if self.state is State.CLOSE_RECEIVED:
                self.state = State.CLOSED
            elif self.state is State.CLOSE_SENT:
                raise self._local("Close already sent")
            else:
                self.state = State.CLOSE_SENT
            if self.role is Role.TARGET:
                self._pending.clear()
            return
        if self.state is State.CLOSE_SENT or self.state is State.CLOSE_RECEIVED:
            raise self._local(f"cannot send {name} while closing")
        if isinstance(pdu, UnknownPdu):
            raise self._local(f"cannot send unsupported PDU [{pdu.tag}]")
        if isinstance(pdu, _REQUESTS):
            if self.role is not Role.ORIGIN:
                raise self._local(f"a target cannot send {name}")
            if isinstance(pdu, InitRequest):
                if self.state is not State.IDLE:
                    raise self._local("Init already sent")
                self.state = State.INITIALISING
                self.init_request = pdu
            elif self.state is not State.OPEN:
                raise self._local(f"cannot send {name} before Init is accepted")
            self._pending.append(_RESPONSE_FOR[type(pdu)])
            return
        if self.role is not Role.TARGET:
            raise self._local(f"an origin cannot send {name}")
        if not self._pending or self._pending[0] is not type(pdu):
            raise self._local(f"no request is waiting for a {name}")
        self._pending.popleft()
        if isinstance(pdu, InitResponse):
            self.init_response = pdu
            self.state = State.OPEN if pdu.result else State.CLOSED

    @property
    def pending(self) -> int:
        """How many responses are owed (by a target) or awaited (by an origin)."""
        return len(self._pending)
