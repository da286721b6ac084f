"""Sans-I/O SIP2 (3M Standard Interchange Protocol 2.00), plus thin asyncio shells.

Three layers, after h11. Nothing here imports ``ils_bridge`` or ``plugins``.

1. **Framer and codec** (pure):

   * :class:`Framer` — ``feed(bytes)``, ``next_frame() -> bytes | None``. CR ends a frame; CRLF
     and a leading LF are accepted; a NUL, an oversize frame or a stream opening like TLS/HTTP/
     telnet raises :class:`LocalProtocolError` (kind ``NOT_SIP`` / ``FRAME_TOO_LARGE``).
   * :func:`encode(message, config) -> bytes <encode>` and
     :func:`decode(frame, config) -> Message <decode>` with a per-terminal :class:`CodecConfig`
     (``encoding`` utf-8/gb18030/cp850, ``delimiter``, ``terminator``, ``error_detection``
     :class:`ErrorDetection`, ``accept`` :class:`Leniency` flags). Checksums are over the
     encoded bytes, 4 uppercase hex digits when sending; :attr:`Message.leniency` reports which
     tolerance a received frame needed.
   * :func:`parse_date(text) -> datetime | None <parse_date>` (never raises),
     :func:`format_date`, :func:`checksum`, :func:`mask` (for logs), and value helpers
     :func:`patron_status` / :func:`patron_status_flags` (the 14 flags),
     :func:`supported_messages` (BX), :func:`summary_category` (63 summary).

2. **Messages**: one frozen dataclass per message type (:data:`MESSAGE_TYPES` by code), e.g.
   :class:`LoginRequest`, :class:`CheckoutRequest`, :class:`CheckoutResponse`. Fixed fields are
   named ``str`` attributes of exact width; variable fields are ``fields: tuple[(code, value)]``
   in wire order (unknown codes and repeats kept) read with ``get(code)``, ``get_all(code)`` and
   properties (``patron_identifier``, ``item_identifier``, ``screen_messages``...). Build with
   ``CheckoutResponse.create(ok="1", AO=..., AA=..., AB=..., AJ=..., AH=..., AF=["..."])``.

3. **Sessions** (state machines, no I/O):

   * :class:`AcsSession(config: SessionConfig) <AcsSession>` — ``receive_data(bytes)``,
     ``next_event() -> Message | Replay | NEED_DATA | PAUSED | CLOSED``, ``send(response) ->
     bytes``, ``bind(codec)``. A :class:`Replay` (97 resend, retransmitted request) must be
     written as is and the handler NOT called: that is how a checkout never runs twice.
     ``next_event`` raises :class:`RemoteProtocolError` with ``reply`` (a 96 on a bad checksum)
     and ``close``; after too many consecutive errors, a framing error or a request before login
     the error is sticky. ``send`` echoes AY, adds AZ, and logs the session in on a 94 ok=1.
   * :class:`ScSession` — the client side (numbers requests, answers a bad checksum with 97).

4. **asyncio**:

   * :class:`Sip2Server(handler, config, *, idle_timeout, handler_timeout) <Sip2Server>` with
     ``handler: async (info: ConnectionInfo, request: Message) -> Message``. The login handler
     binds the terminal: ``info.bind(codec=CodecConfig(encoding="gb18030"), terminal=t)``;
     later calls read ``info.terminal`` and ``info.login`` (the accepted 93). ``config`` may be a
     callable ``(peer) -> SessionConfig`` for connect-phase choices (by client IP).
   * :class:`Sip2Client(host, port, config, *, timeout) <Sip2Client>` — ``await connect()``,
     ``await login(user, password, location)``, ``await request(message) -> Message``.

Example ACS handler::

    async def handler(info: ConnectionInfo, req: Message) -> Message:
        if isinstance(req, LoginRequest):
            terminal = registry.check(req.login_user_id, req.login_password, req.location_code)
            if terminal:
                info.bind(codec=CodecConfig(encoding=terminal.encoding), terminal=terminal)
            return LoginResponse(ok="1" if terminal else "0")
        ...
"""

from __future__ import annotations

from .checksum import checksum
from .client import Sip2Client
from .codec import DEFAULT_CONFIG, CodecConfig, ErrorDetection, decode, encode, encode_value
from .dates import BLANK_DATE, format_date, parse_date
from .errors import ErrorKind, LocalProtocolError, RemoteProtocolError, Sip2Error
from .framer import Framer
from .messages import (
    MESSAGE_TYPES,
    PATRON_STATUS_FLAGS,
    REPEATABLE_CODES,
    RESPONSE_FOR,
    SUMMARY_CATEGORIES,
    SUPPORTED_MESSAGES,
    AcsStatus,
    BlockPatronRequest,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    EndPatronSessionRequest,
    EndSessionResponse,
    FeePaidRequest,
    FeePaidResponse,
    HoldRequest,
    HoldResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    ItemStatusUpdateRequest,
    ItemStatusUpdateResponse,
    Leniency,
    LoginRequest,
    LoginResponse,
    Message,
    PatronEnableRequest,
    PatronEnableResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    PatronStatusRequest,
    PatronStatusResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
    Request,
    RequestAcsResend,
    RequestScResend,
    Response,
    ScStatusRequest,
    mask,
    patron_status,
    patron_status_flags,
    summary_category,
    supported_messages,
)
from .server import ConnectionInfo, Handler, Sip2Server
from .session import (
    CLOSED,
    NEED_DATA,
    PAUSED,
    AcsSession,
    Event,
    Replay,
    ScSession,
    SessionConfig,
    Signal,
    redact,
)

__all__ = [
    "BLANK_DATE",
    "CLOSED",
    "DEFAULT_CONFIG",
    "MESSAGE_TYPES",
    "NEED_DATA",
    "PATRON_STATUS_FLAGS",
    "PAUSED",
    "REPEATABLE_CODES",
    "RESPONSE_FOR",
    "SUMMARY_CATEGORIES",
    "SUPPORTED_MESSAGES",
    "AcsSession",
    "AcsStatus",
    "BlockPatronRequest",
    "CheckinRequest",
    "CheckinResponse",
    "CheckoutRequest",
    "CheckoutResponse",
    "CodecConfig",
    "ConnectionInfo",
    "EndPatronSessionRequest",
    "EndSessionResponse",
    "ErrorDetection",
    "ErrorKind",
    "Event",
    "FeePaidRequest",
    "FeePaidResponse",
    "Framer",
    "Handler",
    "HoldRequest",
    "HoldResponse",
    "ItemInformationRequest",
    "ItemInformationResponse",
    "ItemStatusUpdateRequest",
    "ItemStatusUpdateResponse",
    "Leniency",
    "LocalProtocolError",
    "LoginRequest",
    "LoginResponse",
    "Message",
    "PatronEnableRequest",
    "PatronEnableResponse",
    "PatronInformationRequest",
    "PatronInformationResponse",
    "PatronStatusRequest",
    "PatronStatusResponse",
    "RemoteProtocolError",
    "RenewAllRequest",
    "RenewAllResponse",
    "RenewRequest",
    "RenewResponse",
    "Replay",
    "Request",
    "RequestAcsResend",
    "RequestScResend",
    "Response",
    "ScSession",
    "ScStatusRequest",
    "SessionConfig",
    "Signal",
    "Sip2Client",
    "Sip2Error",
    "Sip2Server",
    "checksum",
    "decode",
    "encode",
    "encode_value",
    "format_date",
    "mask",
    "parse_date",
    "patron_status",
    "patron_status_flags",
    "redact",
    "summary_category",
    "supported_messages",
]
