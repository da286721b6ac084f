"""Errors of the SIP2 library.

Two classes, after h11:

* :class:`LocalProtocolError` is raised by the framer, the codec and the session when *something
  is wrong with the bytes or with what we were asked to do* (a bad checksum, a malformed frame, a
  response sent with no request pending).
* :class:`RemoteProtocolError` is raised by :meth:`AcsSession.next_event` /
  :meth:`ScSession.next_event`: the peer broke the protocol. It carries the polite reply to write
  (``96`` for a bad checksum, ``97`` on the client side) and whether the connection must close.
"""

from __future__ import annotations

import enum

__all__ = ["ErrorKind", "LocalProtocolError", "RemoteProtocolError", "Sip2Error"]


class ErrorKind(enum.Enum):
    """What went wrong, for logs, metrics and tests."""

    CHECKSUM = "checksum"
    """The AZ checksum does not verify (or a required trailer is missing)."""
    MALFORMED = "malformed"
    """The frame is not a well-formed message of its type."""
    UNKNOWN_COMMAND = "unknown-command"
    """The two-digit command code is not one of the standard's."""
    FRAME_TOO_LARGE = "frame-too-large"
    """More bytes than the frame-size cap arrived without a terminator."""
    NOT_SIP = "not-sip"
    """The stream starts like TLS, HTTP or telnet, or carries a NUL byte."""
    NOT_LOGGED_IN = "not-logged-in"
    """A request other than 93 (and 99 if allowed) arrived before a successful login."""
    TOO_MANY_ERRORS = "too-many-errors"
    """The cap on consecutive errors or failed logins was reached."""
    STATE = "state"
    """Our own side misused the session (e.g. a response with no request pending)."""
    ENCODING = "encoding"
    """A value cannot be encoded as asked (e.g. a fixed field of the wrong width)."""


class Sip2Error(Exception):
    """Base class of every error raised on purpose by :mod:`protocols.sip2`."""

    def __init__(self, message: str, *, kind: ErrorKind = ErrorKind.MALFORMED) -> None:
        super().__init__(message)
        self.kind = kind


class LocalProtocolError(Sip2Error):
    """Raised inside the library: bad bytes from the codec/framer, or misuse of a session."""


class RemoteProtocolError(Sip2Error):
    """The peer violated the protocol; raised at the receive boundary of a session.

    ``reply`` holds the bytes to write before anything else (``96`` on a bad request checksum,
    ``97`` on a bad response checksum), or ``None`` when nothing should be written. ``close`` says
    the connection must be closed (after writing ``reply``); a closing error is sticky: every
    later ``next_event()`` raises it again.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind = ErrorKind.MALFORMED,
        reply: bytes | None = None,
        close: bool = False,
    ) -> None:
        super().__init__(message, kind=kind)
        self.reply = reply
        self.close = close
