"""A thin asyncio SIP2 client (SC side) over :class:`ScSession`: connect, request, await."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .errors import ErrorKind, LocalProtocolError, RemoteProtocolError
from .messages import LoginRequest, LoginResponse, Message, RequestScResend
from .session import CLOSED, NEED_DATA, ScSession, SessionConfig

__all__ = ["Sip2Client"]

log = logging.getLogger(__name__)


class Sip2Client:
    """One lock-step connection to an ACS (a township ILS or our own server).

    ``await client.request(msg)`` sends a request and returns its response. A 96 from the ACS
    resends the request (at most ``max_resends`` times); a response with a bad checksum is asked
    again with 97 (same cap) rather than re-running the transaction. ``timeout`` bounds the
    connect and each request.
    """

    def __init__(
        self,
        host: str,
        port: int,
        config: SessionConfig | None = None,
        *,
        timeout: float = 10.0,
        max_resends: int = 2,
    ) -> None:
        self.host, self.port = host, port
        self.session = ScSession(config)
        self.timeout = timeout
        self.max_resends = max_resends
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        """Open the TCP connection."""
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.timeout
        )

    async def close(self) -> None:
        """Close the connection."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
            self._reader = self._writer = None

    async def __aenter__(self) -> Sip2Client:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(self, message: Message) -> Message:
        """Send ``message`` and return the response (``TimeoutError`` after ``timeout``)."""
        if self._reader is None or self._writer is None:
            raise LocalProtocolError("not connected", kind=ErrorKind.STATE)
        reader, writer = self._reader, self._writer
        data = self.session.send(message)
        resends = 0
        async with asyncio.timeout(self.timeout):
            writer.write(data)
            await writer.drain()
            while True:
                try:
                    event = self.session.next_event()
                except RemoteProtocolError as exc:
                    if exc.close or exc.reply is None or resends >= self.max_resends:
                        raise
                    resends += 1
                    log.warning("bad response (%s): asking again with 97", exc)
                    writer.write(exc.reply)
                    continue
                if event is NEED_DATA:
                    chunk = await reader.read(65536)
                    self.session.receive_data(chunk)
                    continue
                if event is CLOSED:
                    raise ConnectionError("the ACS closed the connection")
                if isinstance(event, RequestScResend):
                    if resends >= self.max_resends or self.session.last_request is None:
                        raise RemoteProtocolError("the ACS keeps asking for a resend (96)")
                    resends += 1
                    writer.write(self.session.last_request)
                    continue
                assert isinstance(event, Message)
                return event

    async def login(self, user: str, password: str, location: str | None = None) -> bool:
        """Send 93 and return True if the ACS accepted it."""
        response = await self.request(LoginRequest.create(CN=user, CO=password, CP=location))
        return isinstance(response, LoginResponse) and response.ok == "1"
