"""A thin asyncio SIP2 server (ACS side) over :class:`AcsSession`: I/O, timeouts, limits only."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Generator
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
        self._connections: set[_Connection] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one; see :attr:`port`)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port)

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None, "server not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
            for conn in list(self._connections):
                conn.abort_handling()
                conn.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Sip2Server:
        if self._server is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Connection(asyncio.Protocol):
    """One SIP2 connection: bytes in through the session, one ``transport.write`` per answer.

    A request is handled right in ``data_received``: the handler coroutine is stepped by hand,
    so one that answers without suspending costs no task, and one that suspends on a future
    (the hub waiting for its group commit, a login's password check in a thread) is resumed by
    that future's callback. Reading pauses while a request is being answered and while the peer
    does not take our writes. With a ``handler_timeout`` the handler runs in a task under
    ``asyncio.timeout`` instead.
    """

    def __init__(self, server: Sip2Server) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.session: AcsSession | None = None
        self.info: ConnectionInfo | None = None
        self.busy = False  # a request is being answered
        self.steps: Generator[Any, None, Message] | None = None  # its coroutine, when suspended
        self.task: asyncio.Task[None] | None = None  # ... or its task (handler_timeout)
        self.write_paused = False
        self.closed = False
        self.eof = False
        self.last = self.loop.time()
        self.idle: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ transport events
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        srv = self.server
        peer_info = transport.get_extra_info("peername")
        peer = (str(peer_info[0]), int(peer_info[1])) if isinstance(peer_info, tuple) else None
        cfg = srv._config(peer) if callable(srv._config) else srv._config
        self.session = AcsSession(cfg)
        self.info = ConnectionInfo(next(_ids), srv.name, peer, self.session)
        srv._connections.add(self)
        log.info("%s#%d connected from %s", srv.name, self.info.connection_id, peer)
        self.idle = self.loop.call_later(srv.idle_timeout, self._check_idle)

    def data_received(self, data: bytes) -> None:
        self.last = self.loop.time()
        assert self.session is not None
        self.session.receive_data(data)
        if not self.busy and not self.write_paused:
            self._serve()
        elif self.transport is not None:
            self.transport.pause_reading()  # answer what we have first

    def eof_received(self) -> bool:
        self.eof = True
        assert self.session is not None
        self.session.receive_data(b"")
        if not self.busy and not self.write_paused:
            self._serve()
        return True  # half-open: _serve answers what came before the EOF, then closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.abort_handling()
        self._closed()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if not self.busy and not self.closed:
            self._resume()

    # ------------------------------------------------------------------ serving
    def abort_handling(self) -> None:
        """Drop a request being answered (the connection is going away)."""
        steps, self.steps = self.steps, None
        if steps is not None:
            with contextlib.suppress(Exception):
                steps.close()
        if self.task is not None:
            self.task.cancel()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()  # after what is buffered has been written
        self._closed()

    def _closed(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.idle is not None:
            self.idle.cancel()
        self.server._connections.discard(self)
        if self.info is not None:
            log.info("%s#%d closed", self.server.name, self.info.connection_id)

    def _check_idle(self) -> None:
        if self.closed:
            return
        timeout = self.server.idle_timeout
        left = self.last + timeout - self.loop.time()
        if left > 0 or self.busy:
            self.idle = self.loop.call_later(left if left > 0 else timeout, self._check_idle)
            return
        assert self.info is not None
        log.info("%s#%d idle for %ss: closing", self.server.name, self.info.connection_id, timeout)
        self.close()

    def _resume(self) -> None:
        if self.transport is not None and not self.eof:
            self.transport.resume_reading()
        self._serve()

    def _serve(self) -> None:
        """Answer the complete frames received, in order, until more bytes are needed."""
        session, info, transport = self.session, self.info, self.transport
        assert session is not None and info is not None and transport is not None
        srv = self.server
        cid = info.connection_id
        while not self.closed:
            if self.write_paused:
                transport.pause_reading()
                return
            try:
                event = session.next_event()
            except RemoteProtocolError as exc:
                log.warning("%s#%d protocol error (%s): %s", srv.name, cid, exc.kind.value, exc)
                if exc.reply:
                    transport.write(exc.reply)
                if exc.close:
                    self.close()
                    return
                continue
            if event is NEED_DATA:
                return
            if event is CLOSED or event is PAUSED:
                self.close()
                return
            if isinstance(event, Replay):
                log.info("%s#%d %s: answered from cache", srv.name, cid, event.reason)
                transport.write(event.data)
                continue
            assert isinstance(event, Message)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s#%d <- %s", srv.name, cid, event)
            self.busy = True
            if srv.handler_timeout is not None:
                transport.pause_reading()
                self.task = self.loop.create_task(self._in_task(event))
                return
            steps = srv.handler(info, event).__await__()
            if not self._step(steps, event, None):
                transport.pause_reading()
                return

    def _step(self, steps: Generator[Any, None, Message], request: Message, error: BaseException | None) -> bool:
        """Run the handler until it answers (True) or suspends on a future (False: the future's
        callback steps it on)."""
        try:
            pending = steps.send(None) if error is None else steps.throw(error)
        except StopIteration as done:
            self.steps = None
            self._answer(request, done.value)
            return True
        except Exception:
            self.steps = None
            self._failed(request)
            return True
        self.steps = steps
        if isinstance(pending, asyncio.Future):
            pending._asyncio_future_blocking = False
            pending.add_done_callback(lambda fut: self._wake(steps, request, fut))
        else:  # a bare yield (asyncio.sleep(0)): step on in the next iteration
            self.loop.call_soon(self._wake, steps, request, None)
        return False

    def _wake(self, steps: Generator[Any, None, Message], request: Message,
              fut: asyncio.Future[Any] | None) -> None:
        if self.steps is not steps:
            return  # the connection went away meanwhile
        error: BaseException | None = None
        if fut is not None and fut.cancelled():
            error = asyncio.CancelledError()
        if self._step(steps, request, error) and not self.closed:
            self._resume()

    async def _in_task(self, request: Message) -> None:
        info = self.info
        assert info is not None and self.server.handler_timeout is not None
        try:
            async with asyncio.timeout(self.server.handler_timeout):
                response = await self.server.handler(info, request)
        except asyncio.CancelledError:
            self.task = None
            return
        except Exception:
            self.task = None
            self._failed(request)
            return
        self.task = None
        self._answer(request, response)
        if not self.closed:
            self._resume()

    def _answer(self, request: Message, response: Message) -> None:
        self.busy = False
        self.last = self.loop.time()
        session, info, transport = self.session, self.info, self.transport
        assert session is not None and info is not None and transport is not None
        try:
            data = session.send(response)
        except Exception:
            self._failed(request)
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s#%d -> %s", self.server.name, info.connection_id, redact(data, session.codec))
        if not self.closed:
            transport.write(data)  # one write per frame (python-sip2 reads one recv per response)
        if session.should_close:
            self.close()

    def _failed(self, request: Message) -> None:
        self.busy = False
        assert self.session is not None and self.info is not None
        log.exception("%s#%d handler failed for %s: closing", self.server.name, self.info.connection_id, request.CODE)
        self.session.cancel_pending()
        self.close()
