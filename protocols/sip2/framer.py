"""Bytes in, frames out: the SIP2 framer (no decoding, no I/O)."""

from __future__ import annotations

from typing import Final

from .errors import ErrorKind, LocalProtocolError

__all__ = ["DEFAULT_MAX_FRAME", "Framer"]

DEFAULT_MAX_FRAME: Final = 16 * 1024
"""Default frame-size cap in bytes (terminator excluded)."""

# Stream openings that are certainly not SIP2 (a frame starts with two ASCII digits).
_PREAMBLES: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\x16\x03", "a TLS ClientHello"),
    (b"\xff", "telnet negotiation (IAC)"),
    (b"GET ", "an HTTP request"),
    (b"POST ", "an HTTP request"),
    (b"HEAD ", "an HTTP request"),
    (b"PUT ", "an HTTP request"),
    (b"DELETE ", "an HTTP request"),
    (b"OPTIONS ", "an HTTP request"),
    (b"CONNECT ", "an HTTP request"),
    (b"PRI * HTTP/2", "an HTTP/2 preface"),
)


class Framer:
    """Split a byte stream into SIP2 frames.

    A frame ends at CR, or at a LF for peers that terminate with LF alone (dp2-style clients
    treat either as the end of a message; a LF cannot occur inside a SIP2 field). A LF right
    after a CR (CRLF) or before a frame (stray LF) is dropped, so ``\\r``, ``\\r\\n``, ``\\n``
    and ``\\n...\\r`` all give the same frames. Empty frames are skipped.
    :meth:`next_frame` returns frames without the terminator, ``None`` when more data is needed,
    and raises :class:`LocalProtocolError` (sticky) for a NUL byte, a frame longer than
    ``max_frame`` or a stream that opens like TLS, HTTP or telnet. The result depends only on the
    bytes, never on how they were chunked.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self._start_checked = False
        self._error: LocalProtocolError | None = None
        self.eof = False

    def feed(self, data: bytes) -> None:
        """Add bytes from the peer; ``b""`` marks the end of the stream."""
        if not data:
            self.eof = True
            return
        self._buf += data

    @property
    def pending(self) -> int:
        """Bytes buffered that do not yet form a complete frame."""
        return len(self._buf)

    def _fail(self, message: str, kind: ErrorKind) -> LocalProtocolError:
        self._error = LocalProtocolError(message, kind=kind)
        self._buf.clear()
        return self._error

    def _check_start(self) -> None:
        buf = bytes(self._buf[:16])
        for prefix, what in _PREAMBLES:
            if buf.startswith(prefix):
                raise self._fail(f"stream starts like {what}: {buf.hex()}", ErrorKind.NOT_SIP)
        if any(prefix.startswith(buf) for prefix, _ in _PREAMBLES):
            return  # undecided: wait for more bytes
        self._start_checked = True

    def next_frame(self) -> bytes | None:
        """Return the next complete frame (terminator stripped), or ``None`` if more is needed."""
        if self._error is not None:
            raise self._error
        while True:
            # Drop stray LFs and empty frames before a frame.
            skip = 0
            while skip < len(self._buf) and self._buf[skip] in (0x0A, 0x0D):
                skip += 1
            if skip:
                del self._buf[:skip]
            if not self._buf:
                return None
            if not self._start_checked:
                self._check_start()
                if not self._start_checked:
                    return None
            end = self._buf.find(b"\r")
            lf = self._buf.find(b"\n", 0, end if end >= 0 else len(self._buf))
            if lf >= 0:
                end = lf
            if end < 0:
                if 0 in self._buf:
                    raise self._fail("NUL byte in frame", ErrorKind.NOT_SIP)
                if len(self._buf) > self.max_frame:
                    raise self._fail(
                        f"no terminator within {self.max_frame} bytes", ErrorKind.FRAME_TOO_LARGE
                    )
                return None
            frame = bytes(self._buf[:end])
            del self._buf[: end + 1]
            if 0 in frame:
                raise self._fail("NUL byte in frame", ErrorKind.NOT_SIP)
            if len(frame) > self.max_frame:
                raise self._fail(
                    f"frame of {len(frame)} bytes exceeds {self.max_frame}",
                    ErrorKind.FRAME_TOO_LARGE,
                )
            return frame
