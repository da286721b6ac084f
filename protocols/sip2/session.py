"""SIP2 session state machines (sans-I/O): :class:`AcsSession` (server) and :class:`ScSession`
(client).

Feed bytes with ``receive_data``, pull events with ``next_event``, turn messages into bytes with
``send``. The ACS session enforces login, echoes AY, answers 97 by itself, suppresses
retransmitted requests, sends 96 on a bad checksum and closes after too many errors.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass, field
from typing import Final, Literal

from .codec import DEFAULT_CONFIG, CodecConfig, decode, encode, split_trailer
from .errors import ErrorKind, LocalProtocolError, RemoteProtocolError
from .framer import DEFAULT_MAX_FRAME, Framer
from .messages import (
    MASKED_CODES,
    RESPONSE_FOR,
    Leniency,
    LoginRequest,
    LoginResponse,
    Message,
    RequestAcsResend,
    RequestScResend,
    ScStatusRequest,
    mask,
)

__all__ = [
    "CLOSED",
    "NEED_DATA",
    "PAUSED",
    "AcsSession",
    "Event",
    "Replay",
    "ScSession",
    "SessionConfig",
    "Signal",
    "redact",
]

log = logging.getLogger(__name__)


class Signal(enum.Enum):
    """Non-message results of ``next_event``."""

    NEED_DATA = "need-data"
    """Feed more bytes."""
    PAUSED = "paused"
    """A request was returned and is waiting for ``send()`` of its response."""
    CLOSED = "closed"
    """The peer closed the stream (``receive_data(b"")``) and no complete frame is left."""


NEED_DATA: Final = Signal.NEED_DATA
PAUSED: Final = Signal.PAUSED
CLOSED: Final = Signal.CLOSED


@dataclass(frozen=True)
class Replay:
    """Bytes the session answers with by itself; write them and do NOT call the handler.

    ``reason`` is ``"resend"`` (a 97 asked for the last response), ``"duplicate"`` (a request
    with the same code, AY and AZ as the previous one: the SC did not get our answer, so the
    transaction must not run twice) or ``"nothing-to-resend"`` (a 97 before any response: 96).
    """

    data: bytes
    reason: Literal["resend", "duplicate", "nothing-to-resend"]
    request: Message


Event = Message | Replay | Signal


@dataclass(frozen=True)
class SessionConfig:
    """Per-listener (and, through :meth:`AcsSession.bind`, per-terminal) session settings."""

    codec: CodecConfig = field(default_factory=lambda: DEFAULT_CONFIG)
    login_required: bool = True
    """Only 93 (and 99 if allowed) are accepted before a successful login."""
    allow_status_before_login: bool = True
    """Accept 99 before 93 (Relais and several kiosks poll status first)."""
    max_frame: int = DEFAULT_MAX_FRAME
    max_consecutive_errors: int = 3
    """Bad frames in a row (checksum, malformed, unknown command) before the connection closes."""
    max_login_attempts: int = 3
    """Failed logins (94 with ok=0) before the connection closes."""
    always_checksum: bool = False
    """Add AZ to every response even when the request had none."""
    resend_without_sequence: bool = False
    """On 97, re-encode the last response without AY (Evergreen) instead of replaying it as is."""
    sequence_numbers: bool = True
    """(Client side) send AY/AZ with every request."""


_MASK_RE: Final = re.compile(r"(?:(?<=\|)|(?<=^.{2}))(AA|AD|AC|CO)([^|]*)")


def redact(frame: bytes, config: CodecConfig = DEFAULT_CONFIG) -> str:
    """Text of a frame for logs, with patron id and passwords (AA AD AC CO) masked."""
    try:
        msg = decode(frame, config.with_(accept=config.accept | _ALL_LENIENCY))
    except LocalProtocolError:
        text = frame[:200].decode("latin-1")
        return _MASK_RE.sub(lambda m: m.group(1) + mask(m.group(2)), text)
    fixed = "".join(msg.fixed_values().values())
    shown = config.delimiter.join(c + (mask(v) if c in MASKED_CODES else v) for c, v in msg.fields)
    seq = f" AY{msg.sequence}" if msg.sequence is not None else ""
    return f"{msg.CODE}{fixed}{shown}{seq}"


_ALL_LENIENCY: Final = Leniency.COMMON | Leniency.BAD_TEXT


class _Base:
    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.codec = config.codec
        self._framer = Framer(config.max_frame)
        self._error: RemoteProtocolError | None = None
        self._errors = 0

    def bind(self, codec: CodecConfig) -> None:
        """Switch the wire settings (encoding, delimiter, tolerances...) from the next frame on.

        Call it from the login handler to apply the terminal's configuration; frames already
        buffered but not yet returned are decoded with the new settings.
        """
        self.codec = codec

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the socket; ``b""`` means the peer closed its side."""
        self._framer.feed(data)

    @property
    def closed_by_error(self) -> bool:
        """True after a fatal (sticky) protocol error."""
        return self._error is not None

    def _sticky(
        self, err: LocalProtocolError | RemoteProtocolError, kind: ErrorKind
    ) -> RemoteProtocolError:
        self._error = RemoteProtocolError(str(err), kind=kind, reply=None, close=True)
        return self._error

    def _next_frame(self) -> bytes | Signal:
        if self._error is not None:
            raise self._error
        try:
            frame = self._framer.next_frame()
        except LocalProtocolError as exc:
            raise self._sticky(exc, exc.kind) from None
        if frame is None:
            return CLOSED if self._framer.eof else NEED_DATA
        return frame

    def _bad_frame(
        self, exc: LocalProtocolError, frame: bytes, reply: bytes | None
    ) -> RemoteProtocolError:
        self._errors += 1
        log.info("bad SIP2 frame (%s): %s", exc, redact(frame, self.codec))
        if self._errors >= self.config.max_consecutive_errors:
            err = RemoteProtocolError(
                f"{self._errors} bad frames in a row; last: {exc}",
                kind=ErrorKind.TOO_MANY_ERRORS,
                reply=reply,
                close=True,
            )
            self._sticky(err, ErrorKind.TOO_MANY_ERRORS)
            return err
        return RemoteProtocolError(str(exc), kind=exc.kind, reply=reply, close=False)


class AcsSession(_Base):
    """The ACS (server) side of one SIP2 connection.

    ``next_event()`` returns a request :class:`Message` (call the handler, then ``send()`` its
    response), a :class:`Replay` (write ``data``; the handler must not run), ``NEED_DATA``,
    ``PAUSED`` or ``CLOSED``. It raises :class:`RemoteProtocolError` for a bad frame: write
    ``reply`` if set (96 on a bad checksum), close if ``close``. Nothing else escapes.
    """

    def __init__(self, config: SessionConfig | None = None) -> None:
        super().__init__(config or SessionConfig())
        self.logged_in = not self.config.login_required
        self.login: LoginRequest | None = None
        """The 93 that logged this session in (CN/CP identify the terminal)."""
        self.protocol_version: str | None = None
        """From the last 99 (``2.00``, sometimes ``2.0E``)."""
        self.should_close = False
        """Set when the connection must be closed after writing the bytes ``send`` returned."""
        self._pending: Message | None = None
        self._pending_key: tuple[str, int, str] | None = None
        self._last_key: tuple[str, int, str] | None = None
        self._last_response: bytes | None = None
        self._last_response_msg: Message | None = None
        self._failed_logins = 0

    @property
    def pending(self) -> Message | None:
        """The request returned by ``next_event`` and not yet answered."""
        return self._pending

    def next_event(self) -> Event:
        """Return the next event; see the class docstring."""
        if self._pending is not None:
            if self._error is not None:
                raise self._error
            return PAUSED
        frame = self._next_frame()
        if isinstance(frame, Signal):
            return frame
        try:
            msg = decode(frame, self.codec)
        except LocalProtocolError as exc:
            reply = None
            if exc.kind is ErrorKind.CHECKSUM:
                reply = encode(RequestScResend(checksummed=True), self.codec)
            raise self._bad_frame(exc, frame, reply) from None
        if not msg.IS_REQUEST:
            wrong = LocalProtocolError(f"response {msg.CODE} sent to the ACS")
            raise self._bad_frame(wrong, frame, None)
        self._errors = 0
        if msg.leniency:
            log.info("SIP2 %s accepted with leniency %s", msg.CODE, msg.leniency)
        if isinstance(msg, RequestAcsResend):
            if self._last_response is None or self._last_response_msg is None:
                data = encode(RequestScResend(checksummed=True), self.codec)
                return Replay(data, "nothing-to-resend", msg)
            if self.config.resend_without_sequence:
                again = self._last_response_msg.replace(sequence=None, checksummed=True)
                return Replay(encode(again, self.codec), "resend", msg)
            return Replay(self._last_response, "resend", msg)
        key = None
        if msg.checksummed and msg.sequence is not None:
            digits = split_trailer(frame)[2] or ""
            key = (msg.CODE, msg.sequence, digits.upper())
            if key == self._last_key and self._last_response is not None:
                log.info("SIP2 %s AY%d repeated: answering from cache", msg.CODE, msg.sequence)
                return Replay(self._last_response, "duplicate", msg)
        if not self.logged_in and not (
            isinstance(msg, LoginRequest)
            or (isinstance(msg, ScStatusRequest) and self.config.allow_status_before_login)
        ):
            early = LocalProtocolError(f"{msg.CODE} before login", kind=ErrorKind.NOT_LOGGED_IN)
            raise self._sticky(early, ErrorKind.NOT_LOGGED_IN)
        if isinstance(msg, ScStatusRequest):
            self.protocol_version = msg.protocol_version
        self._pending, self._pending_key = msg, key
        return msg

    def cancel_pending(self) -> None:
        """Forget the pending request without answering (e.g. the handler failed)."""
        self._pending = self._pending_key = None

    def send(self, message: Message) -> bytes:
        """Encode the response to the pending request: AY echoed, AZ added when the request
        had one, cached for 97 and for retransmissions. Raises :class:`LocalProtocolError`
        (``STATE``) if no request is pending or the response does not answer it."""
        request = self._pending
        if request is None:
            raise LocalProtocolError("no request is waiting for a response", kind=ErrorKind.STATE)
        if message.IS_REQUEST or RESPONSE_FOR.get(request.CODE) != message.CODE:
            raise LocalProtocolError(
                f"{type(message).__name__} does not answer {type(request).__name__}",
                kind=ErrorKind.STATE,
            )
        message = message._with_trailer(
            request.sequence, request.checksummed or self.config.always_checksum
        )
        data = encode(message, self.codec)
        self._last_response, self._last_response_msg = data, message
        self._last_key = self._pending_key
        self._pending = self._pending_key = None
        if isinstance(request, LoginRequest) and isinstance(message, LoginResponse):
            if message.ok == "1":
                self.logged_in, self.login, self._failed_logins = True, request, 0
            else:
                self._failed_logins += 1
                if self._failed_logins >= self.config.max_login_attempts:
                    self.should_close = True
        return data


class ScSession(_Base):
    """The SC (client) side: numbers requests 0-9, matches responses, asks 97 on a bad checksum.

    ``next_event()`` returns a response :class:`Message` (a :class:`RequestScResend` means
    "write :attr:`last_request` again"), ``NEED_DATA`` or ``CLOSED``; it raises
    :class:`RemoteProtocolError` with ``reply`` = a 97 frame when a response fails its checksum.
    """

    def __init__(self, config: SessionConfig | None = None) -> None:
        super().__init__(config or SessionConfig(login_required=False))
        self._seq = 0
        self.pending: Message | None = None
        """The request sent and not yet answered."""
        self.last_request: bytes | None = None

    def send(self, request: Message) -> bytes:
        """Encode a request, with the next AY/AZ when sequence numbers are on."""
        if not request.IS_REQUEST:
            raise LocalProtocolError("the SC sends requests only", kind=ErrorKind.STATE)
        if isinstance(request, RequestAcsResend):
            return encode(request.replace(sequence=None, checksummed=True), self.codec)
        if self.config.sequence_numbers:
            request = request.replace(sequence=self._seq, checksummed=True)
            self._seq = (self._seq + 1) % 10
        data = encode(request, self.codec)
        self.pending, self.last_request = request, data
        return data

    def next_event(self) -> Event:
        """Return the next response or signal; see the class docstring."""
        frame = self._next_frame()
        if isinstance(frame, Signal):
            return frame
        try:
            msg = decode(frame, self.codec)
        except LocalProtocolError as exc:
            reply = None
            if exc.kind is ErrorKind.CHECKSUM:
                reply = encode(RequestAcsResend(checksummed=True), self.codec)
            raise self._bad_frame(exc, frame, reply) from None
        if msg.IS_REQUEST:
            raise self._bad_frame(
                LocalProtocolError(f"request {msg.CODE} sent to the SC"), frame, None
            )
        self._errors = 0
        if isinstance(msg, RequestScResend):
            return msg
        pending = self.pending
        if (
            pending is not None
            and pending.sequence is not None
            and msg.sequence
            not in (
                None,
                pending.sequence,
            )
        ):
            log.warning(
                "SIP2 response AY%s does not match request AY%s", msg.sequence, pending.sequence
            )
        self.pending = None
        return msg
