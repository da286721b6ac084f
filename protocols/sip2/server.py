"""A thin asyncio SIP2 server (ACS side) over :class:`AcsSession`: I/O, timeouts, limits only."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .codec import CodecConfig
from .errors import RemoteProtocolError
from .messages import LoginRequest, Message
from .session import CLOSED, NEED_DATA, PAUSED, AcsSession, Replay, SessionConfig, redact

__all__ = ["ConnectionInfo", "Handler", "Sip2Server"]

log = logging.getLogger(__name__)
_ids = itertools.count(1)


@dataclass
class ConnectionInfo:
    """What the handler knows about a connection, and where login binds the terminal.

    The login handler (for a :class:`LoginRequest`) decides who the terminal is and calls
    :meth:`bind` with its wire settings and the hub's terminal object; later handlers read
    :attr:`terminal`. The binding takes effect from the next frame.
    """

    connection_id: int
    listener: str
    peer: tuple[str, int] | None
    session: AcsSession = field(repr=False)
    terminal: Any = None
    """Whatever the login handler bound (the hub's terminal/branch record); ``None`` before."""

    def bind(self, *, codec: CodecConfig | None = None, terminal: Any = None) -> None:
        """Bind the terminal's wire settings and identity to this connection."""
        if codec is not None:
            self.session.bind(codec)
        if terminal is not None:
            self.terminal = terminal

    @property
    def codec(self) -> CodecConfig:
        """The wire settings in force."""
        return self.session.codec

    @property
    def login(self) -> LoginRequest | None:
        """The accepted 93 (its CN/CP identify the terminal), or ``None``."""
        return self.session.login


Handler = Callable[[ConnectionInfo, Message], Awaitable[Message]]
"""``async def handler(info, request) -> response``: return the response message for a request.

It is called once per request (never for 97 or a retransmitted request: the session answers
those from its cache). AY/AZ are set by the session. A 94 with ``ok="1"`` logs the session in.
Raising closes the connection; for business errors return the normal response with ``ok="0"``
and an AF screen message instead.
"""


class Sip2Server:
    """Serve SIP2 on a TCP port, one :class:`AcsSession` per connection.

    ``config`` is a :class:`SessionConfig` or a callable ``(peer) -> SessionConfig`` choosing the
    connect-phase settings (e.g. by client IP). ``idle_timeout`` closes silent connections (SCs
    poll 99 every 5-7 minutes, so keep it above that); ``handler_timeout`` bounds one handler call.
    """

    def __init__(
        self,
        handler: Handler,
        config: SessionConfig | Callable[[tuple[str, int] | None], SessionConfig] | None = None,
        *,
        idle_timeout: float = 600.0,
        handler_timeout: float | None = None,
        name: str = "sip2",
    ) -> None:
        self.handler = handler
        self._config = config or SessionConfig()
        self.idle_timeout = idle_timeout
        self.handler_timeout = handler_timeout
        self.name = name
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one; see :attr:`port`)."""
        self._server = await asyncio.start_server(self._on_connect, host, port)

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None, "server not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Sip2Server:
        if self._server is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        peer = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
        cfg = self._config(peer) if callable(self._config) else self._config
        session = AcsSession(cfg)
        info = ConnectionInfo(next(_ids), self.name, peer, session)
        log.info("%s#%d connected from %s", self.name, info.connection_id, peer)
        try:
            while True:
                try:
                    # asyncio.timeout, not wait_for: wait_for wraps every read in a new Task
                    # (one more event-loop hop per request on Python 3.11).
                    async with asyncio.timeout(self.idle_timeout):
                        data = await reader.read(65536)
                except TimeoutError:
                    log.info(
                        "%s#%d idle for %ss: closing",
                        self.name,
                        info.connection_id,
                        self.idle_timeout,
                    )
                    break
                except ConnectionError:
                    break
                session.receive_data(data)
                if await self._drain(session, info, writer) or not data:
                    break
        except asyncio.CancelledError:
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            # On shutdown the task is cancelled while closing: that is the end we wanted.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
            log.info("%s#%d closed", self.name, info.connection_id)

    async def _drain(
        self, session: AcsSession, info: ConnectionInfo, writer: asyncio.StreamWriter
    ) -> bool:
        """Handle every complete frame; return True when the connection must close."""
        cid = info.connection_id
        while True:
            try:
                event = session.next_event()
            except RemoteProtocolError as exc:
                log.warning("%s#%d protocol error (%s): %s", self.name, cid, exc.kind.value, exc)
                if exc.reply:
                    writer.write(exc.reply)
                if exc.close:
                    with contextlib.suppress(ConnectionError):
                        await writer.drain()
                    return True
                continue
            if event is NEED_DATA:
                await writer.drain()
                return False
            if event is CLOSED or event is PAUSED:
                return True
            if isinstance(event, Replay):
                log.info("%s#%d %s: answered from cache", self.name, cid, event.reason)
                writer.write(event.data)
                continue
            assert isinstance(event, Message)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s#%d <- %s", self.name, cid, event)
            try:
                if self.handler_timeout is None:
                    response = await self.handler(info, event)
                else:  # asyncio.timeout, not wait_for: no new Task (and event-loop hop) per frame
                    async with asyncio.timeout(self.handler_timeout):
                        response = await self.handler(info, event)
                data = session.send(response)
            except Exception:
                log.exception("%s#%d handler failed for %s: closing", self.name, cid, event.CODE)
                session.cancel_pending()
                return True
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s#%d -> %s", self.name, cid, redact(data, session.codec))
            writer.write(data)  # one write per frame (python-sip2 reads one recv per response)
            await writer.drain()
            if session.should_close:
                return True
