"""Z39.50 target (server): protocol policy plus a thin asyncio listener.

The hub supplies a :class:`Backend`; this module owns the protocol policy the
way YAZ GFS does: Init negotiation (versions, options, sizes, character set),
result sets per association, piggyback, message-size packing and the
diagnostics that need no backend knowledge (13, 21, 30, 107, 108, 112, 125,
235, 239).  The backend decides the rest (109, 114 …) by returning a
:class:`~protocols.z3950.apdu.DefaultDiag`.

Charset: each listener is configured with one charset (``UTF-8`` or
``GB18030`` …) plus, optionally, ``negotiable_charsets`` an origin may pick.
When the origin proposes charset negotiation (Init otherInfo, charneg-3) the
target selects the origin's most preferred charset it serves, else its own,
and says so in the InitResponse.  Either way :attr:`AssociationContext.charset`
tells the backend how query terms are encoded and how to encode records
(``records_in_selected_charset`` echoes what the origin asked for).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import itertools
import logging
import socket
from collections.abc import Awaitable, Collection, Generator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from . import diagnostics as diag
from . import oids
from .apdu import (
    AttributesPlusTerm,
    AuthIdPass,
    AuthOpen,
    Close,
    CloseReason,
    DefaultDiag,
    External,
    InitRequest,
    InitResponse,
    MalformedQuery,
    NamePlusRecord,
    Options,
    OtherInfo,
    PresentRequest,
    PresentResponse,
    PresentStatus,
    RawQuery,
    ResponseRecords,
    RpnNode,
    RpnOp,
    RpnQuery,
    SearchRequest,
    SearchResponse,
)
from .ber import BerLimits
from .charneg import CharsetProposal, find_charneg, normalise_charset, response_info
from .connection import (
    CONNECTION_CLOSED,
    NEED_DATA,
    PAUSED,
    Association,
    Event,
    ProtocolError,
    RemoteProtocolError,
    Role,
    State,
)
from .fastpath import external_size
from .records import OpacRecord, opac_external, sutrs_external

__all__ = [
    "AssociationContext",
    "Backend",
    "Diagnostic",
    "PresentQuery",
    "PresentResult",
    "ResultSet",
    "RetrievalRecord",
    "SearchQuery",
    "SearchResult",
    "TargetConfig",
    "TargetSession",
    "Z3950Target",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

Diagnostic = DefaultDiag
"""A Bib-1 diagnostic: ``Diagnostic(114, "7")``."""

_SUPPORTED_OPTIONS = frozenset(
    {Options.SEARCH, Options.PRESENT, Options.NAMED_RESULT_SETS, Options.TRIGGER_RESOURCE_CTRL}
)


@dataclass(frozen=True, slots=True)
class TargetConfig:
    """Per-listener settings."""

    charset: str = "UTF-8"
    #: Other charsets an origin may select by proposing them (e.g. ``("UTF-8",)`` on a
    #: GB18030 listener).  Without a proposal, or with none of these, ``charset`` is used.
    negotiable_charsets: tuple[str, ...] = ()
    implementation_id: str = "ils-bridge"
    implementation_name: str = "ils-bridge Z39.50 target"
    implementation_version: str = "0.1"
    preferred_message_size: int = 4 * 1024 * 1024
    exceptional_record_size: int = 4 * 1024 * 1024
    max_present: int = 100
    max_result_sets: int = 100
    idle_timeout: float | None = 600.0
    backend_timeout: float | None = 60.0  # per backend call; on expiry diagnostic 2
    max_request_size: int = 1024 * 1024
    max_depth: int = 64
    #: Start answering each request at once, in the protocol callback, rather than in a new
    #: task: a request whose backend calls complete without suspending (SQLite in-process)
    #: then costs no task and no extra turn of the event loop. Backend code that runs before
    #: the call's first suspension has no current task then (``asyncio.current_task()`` is
    #: None; ``asyncio.timeout`` needs one): such a backend sets ``eager=False``.
    eager: bool = True


@dataclass(frozen=True, slots=True)
class AssociationContext:
    """What the backend knows about the association."""

    id: int
    peer: str
    charset: str  # Python codec name for terms and records, e.g. "UTF-8", "GB18030"
    negotiated: bool  # True if charset negotiation took place
    records_in_selected_charset: bool
    user: str | None = None
    group: str | None = None
    password: str | None = field(default=None, repr=False)
    implementation_name: str | None = None

    def term_text(self, term: bytes) -> str:
        """Decode a ``general`` term with the association charset (strict)."""
        return term.decode(self.charset)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A search handed to the backend (only Type-1/101 RPN reaches it)."""

    context: AssociationContext
    databases: tuple[str, ...]
    query: RpnQuery
    result_set_name: str
    preferred_record_syntax: str | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Hits, or a diagnostic; ``handle`` is backend state kept with the result set."""

    hits: int = 0
    diagnostic: DefaultDiag | None = None
    handle: object = None
    estimate: bool = False


@dataclass(frozen=True, slots=True)
class ResultSet:
    """A named result set of one association."""

    name: str
    databases: tuple[str, ...]
    query: RpnQuery
    hits: int
    handle: object = None


@dataclass(frozen=True, slots=True)
class PresentQuery:
    """Records ``start .. start+count-1`` (1-based, already range-checked)."""

    context: AssociationContext
    result_set: ResultSet
    start: int
    count: int
    syntax: str
    element_set: str | None
    syntax_requested: bool = True
    """False when the origin named no record syntax and ``syntax`` is the backend's first
    choice: a backend may then answer each record in its natural syntax (e.g. a MARC21 record
    as USMARC when UNIMARC is preferred) instead of a diagnostic."""


@dataclass(frozen=True, slots=True)
class RetrievalRecord:
    """One record: ISO 2709/XML ``bytes``, SUTRS ``str``, an :class:`OpacRecord`, or an EXTERNAL."""

    data: bytes | str | OpacRecord | External
    syntax: str = oids.USMARC
    database: str | None = None


@dataclass(frozen=True, slots=True)
class PresentResult:
    """Records (each may be a surrogate diagnostic), or one non-surrogate diagnostic."""

    records: tuple[RetrievalRecord | DefaultDiag, ...] = ()
    diagnostic: DefaultDiag | None = None


class Backend(Protocol):
    """What the hub implements to serve Z39.50."""

    def databases(self) -> Collection[str]:
        """Database names served (compared case-insensitively); others get 235."""
        ...

    def record_syntaxes(self) -> Collection[str]:
        """Record syntax OIDs served, preferred first; others get 239."""
        ...

    async def init(self, context: AssociationContext) -> DefaultDiag | None:
        """Accept (``None``) or refuse the association with a diagnostic (e.g. 1011)."""
        ...

    async def search(self, query: SearchQuery) -> SearchResult:
        """Run a search; unsupported attributes are answered with 113–123 diagnostics."""
        ...

    async def present(self, query: PresentQuery) -> PresentResult:
        """Fetch records of a result set in the requested syntax."""
        ...


def _diag(code: int, addinfo: str = "") -> DefaultDiag:
    return DefaultDiag(code, addinfo)


def _terms(node: RpnNode) -> list[bytes]:
    out: list[bytes] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, RpnOp):
            stack += [cur.left, cur.right]
        elif isinstance(cur, AttributesPlusTerm) and isinstance(cur.term, bytes):
            out.append(cur.term)
    return out


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


class _Continue(Generic[T]):
    """Awaits the rest of an awaitable that was stepped by hand (``steps``, its ``__await__``
    iterator) and suspended on ``pending`` (what it yielded: a future, or None).

    With a ``timeout``, expiry cancels what the awaitable is waiting on, as
    ``asyncio.timeout`` cancels its task, and raises ``TimeoutError``."""

    __slots__ = ("_pending", "_steps", "_timeout")

    def __init__(
        self, steps: Generator[Any, None, T], pending: Any, timeout: float | None = None
    ) -> None:
        self._steps = steps
        self._pending = pending
        self._timeout = timeout

    def __await__(self) -> Generator[Any, None, T]:
        steps = self._steps
        pending = self._pending
        expired = False
        timer: asyncio.TimerHandle | None = None
        if self._timeout is not None:

            def expire() -> None:
                nonlocal expired
                expired = True
                if isinstance(pending, asyncio.Future):
                    pending.cancel()

            timer = asyncio.get_running_loop().call_later(self._timeout, expire)
        try:
            while True:
                try:
                    yield pending
                except BaseException as exc:  # cancellation, or the awaited future's error
                    pending = steps.throw(exc)
                else:  # resumed: step on, or stop it once the time is up
                    pending = steps.throw(asyncio.CancelledError()) if expired else steps.send(None)
        except StopIteration as done:
            result: T = done.value
            return result
        except asyncio.CancelledError:
            if expired:
                raise TimeoutError from None
            raise
        finally:
            if timer is not None:
                timer.cancel()


class TargetSession:
    """Protocol policy for one association (no I/O; the backend calls are awaited)."""

    _ids = itertools.count(1)

    def __init__(self, backend: Backend, config: TargetConfig, peer: str = "") -> None:
        self.backend = backend
        self.config = config
        self.peer = peer
        self.context: AssociationContext | None = None
        self.result_sets: dict[str, ResultSet] = {}
        self.preferred_message_size = config.preferred_message_size
        self.exceptional_record_size = config.exceptional_record_size

    async def _call(self, call: Awaitable[T]) -> T:
        """Await a backend call within ``backend_timeout`` (expiry raises ``TimeoutError``,
        which becomes diagnostic 2).

        The call is stepped by hand: one that answers without suspending (SQLite in-process)
        costs no timer; one that suspends finishes under the timeout."""
        steps = call.__await__()
        try:
            pending = steps.send(None)
        except StopIteration as done:
            result: T = done.value
            return result
        return await _Continue(steps, pending, self.config.backend_timeout)

    async def handle(
        self, pdu: Event
    ) -> list[InitResponse | SearchResponse | PresentResponse | Close]:
        """The replies to one received PDU."""
        if isinstance(pdu, InitRequest):
            return [await self._init(pdu)]
        if isinstance(pdu, SearchRequest):
            return [await self._search(pdu)]
        if isinstance(pdu, PresentRequest):
            return [await self._present(pdu)]
        if isinstance(pdu, Close):
            return [
                Close(
                    CloseReason.FINISHED,
                    "Association terminated by client",
                    reference_id=pdu.reference_id,
                )
            ]
        return []  # UnknownPdu we tolerate (trigger resource control)

    # -------------------------------------------------------------- Init

    def _select_charset(self, proposed: tuple[str, ...]) -> str:
        """The origin's most preferred charset we serve, else the listener's own."""
        cfg = self.config
        ours = {normalise_charset(c): c for c in (cfg.charset, *cfg.negotiable_charsets)}
        for name in proposed:
            if normalise_charset(name) in ours:
                return ours[normalise_charset(name)]
        return cfg.charset

    async def _init(self, req: InitRequest) -> InitResponse:
        cfg = self.config
        user = group = password = None
        auth = req.id_authentication
        if isinstance(auth, AuthOpen):
            user, _, pw = auth.text.partition("/")
            password = pw or None
        elif isinstance(auth, AuthIdPass):
            user, group, password = auth.user, auth.group, auth.password
        proposal = find_charneg(req.other_info)
        other_info: tuple[OtherInfo, ...] = ()
        options = req.options & _SUPPORTED_OPTIONS
        negotiated = False
        records_charset = False
        charset = cfg.charset
        if isinstance(proposal, CharsetProposal):
            negotiated = True
            records_charset = bool(proposal.records_in_selected_charsets)
            charset = self._select_charset(proposal.charsets)
            other_info = (response_info(normalise_charset(charset), records_charset),)
            options |= {Options.NEGOTIATION_MODEL}
        self.context = AssociationContext(
            id=next(self._ids),
            peer=self.peer,
            charset=charset,
            negotiated=negotiated,
            records_in_selected_charset=records_charset,
            user=user or None,
            group=group,
            password=password,
            implementation_name=req.implementation_name,
        )
        self.preferred_message_size = min(
            cfg.preferred_message_size, max(req.preferred_message_size, 1024)
        )
        self.exceptional_record_size = min(
            cfg.exceptional_record_size, max(req.exceptional_record_size, 1024)
        )
        versions = req.protocol_version & frozenset({0, 1, 2})
        refusal: DefaultDiag | None
        if not versions:
            refusal = _diag(diag.UNSPECIFIED, "no common protocol version")
        else:
            try:
                refusal = await self._call(self.backend.init(self.context))
            except Exception:
                log.exception("backend init failed")
                refusal = _diag(diag.PERMANENT_SYSTEM_ERROR, "backend init failed")
        return InitResponse(
            result=refusal is None,
            options=options,
            protocol_version=versions or frozenset({0, 1}),
            preferred_message_size=self.preferred_message_size,
            exceptional_record_size=self.exceptional_record_size,
            implementation_id=cfg.implementation_id,
            implementation_name=cfg.implementation_name,
            implementation_version=cfg.implementation_version,
            user_information=None if refusal is None else diag.diag1_external((refusal,)),
            other_info=other_info,
            reference_id=req.reference_id,
        )

    # -------------------------------------------------------------- Search

    def _search_failed(self, req: SearchRequest, d: DefaultDiag) -> SearchResponse:
        self.result_sets.pop(req.result_set_name, None)
        return SearchResponse(
            result_count=0,
            search_status=False,
            number_of_records_returned=0,
            next_result_set_position=0,
            result_set_status=3,
            records=d,
            reference_id=req.reference_id,
        )

    def _check_search(self, req: SearchRequest) -> tuple[tuple[str, ...], RpnQuery] | DefaultDiag:
        name = req.result_set_name
        if name in self.result_sets and not req.replace_indicator:
            return _diag(diag.RESULT_SET_EXISTS, name)
        if name not in self.result_sets and len(self.result_sets) >= self.config.max_result_sets:
            return _diag(diag.TOO_MANY_RESULT_SETS, str(self.config.max_result_sets))
        known = {d.lower(): d for d in self.backend.databases()}
        dbs: list[str] = []
        for db in req.database_names:
            if db.lower() not in known:
                return _diag(diag.DATABASE_DOES_NOT_EXIST, db)
            dbs.append(known[db.lower()])
        if not dbs:
            return _diag(diag.DATABASE_DOES_NOT_EXIST, "")
        q = req.query
        if isinstance(q, MalformedQuery):
            return _diag(diag.MALFORMED_QUERY, q.reason[:100])
        if isinstance(q, RawQuery):
            return _diag(diag.QUERY_TYPE_UNSUPPORTED, str(q.type))
        codec = _codec(self.context.charset if self.context else self.config.charset)
        for term in _terms(q.rpn):
            try:
                term.decode(codec)
            except UnicodeDecodeError:
                return _diag(diag.MALFORMED_TERM, term.decode(codec, "replace")[:100])
        return tuple(dbs), q

    async def _search(self, req: SearchRequest) -> SearchResponse:
        assert self.context is not None
        checked = self._check_search(req)
        if isinstance(checked, DefaultDiag):
            return self._search_failed(req, checked)
        dbs, query = checked
        try:
            query_ = SearchQuery(
                self.context, dbs, query, req.result_set_name, req.preferred_record_syntax
            )
            result = await self._call(self.backend.search(query_))
        except Exception:
            log.exception("backend search failed")
            return self._search_failed(req, _diag(diag.TEMPORARY_SYSTEM_ERROR, "search failed"))
        if result.diagnostic is not None:
            return self._search_failed(req, result.diagnostic)
        rs = ResultSet(req.result_set_name, dbs, query, result.hits, result.handle)
        self.result_sets[rs.name] = rs
        hits = result.hits
        # Piggyback, as YAZ GFS decides it.
        if hits <= req.small_set_upper_bound:
            number, esn = hits, req.small_set_element_set_names
        elif hits < req.large_set_lower_bound:
            number, esn = min(req.medium_set_present_number, hits), req.medium_set_element_set_names
        else:
            number, esn = 0, None
        if number <= 0:
            return SearchResponse(
                result_count=hits,
                search_status=True,
                next_result_set_position=1,
                result_set_status=4 if result.estimate else None,
                reference_id=req.reference_id,
            )
        present = await self._fetch(
            rs, 1, number, req.preferred_record_syntax, esn if isinstance(esn, str) else None, None
        )
        return SearchResponse(
            result_count=hits,
            search_status=True,
            number_of_records_returned=present.number_of_records_returned,
            next_result_set_position=present.next_result_set_position,
            result_set_status=4 if result.estimate else None,
            present_status=present.present_status,
            records=present.records,
            reference_id=req.reference_id,
        )

    # -------------------------------------------------------------- Present

    async def _present(self, req: PresentRequest) -> PresentResponse:
        rs = self.result_sets.get(req.result_set_id)
        if rs is None:
            return self._present_failed(req, _diag(diag.RESULT_SET_MISSING, req.result_set_id))
        comp = req.record_composition
        return await self._fetch(
            rs,
            req.start,
            req.count,
            req.preferred_record_syntax,
            comp if isinstance(comp, str) else None,
            req.reference_id,
        )

    def _present_failed(
        self, req: PresentRequest | None, d: DefaultDiag, ref: bytes | None = None
    ) -> PresentResponse:
        return PresentResponse(
            number_of_records_returned=0,
            next_result_set_position=0 if req is None else req.start + 1 if req.start > 0 else 0,
            present_status=PresentStatus.FAILURE,
            records=d,
            reference_id=ref if req is None else req.reference_id,
        )

    async def _fetch(
        self,
        rs: ResultSet,
        start: int,
        count: int,
        syntax: str | None,
        element_set: str | None,
        reference_id: bytes | None,
    ) -> PresentResponse:
        assert self.context is not None
        if start < 1 or start > rs.hits or count < 0:
            return PresentResponse(
                0,
                start + 1 if start > 0 else 0,
                PresentStatus.FAILURE,
                _diag(diag.PRESENT_OUT_OF_RANGE, str(start)),
                reference_id=reference_id,
            )
        supported = list(self.backend.record_syntaxes())
        requested = syntax is not None
        if syntax is None:
            if not supported:
                return self._present_failed(
                    None, _diag(diag.RECORD_SYNTAX_UNSUPPORTED, ""), reference_id
                )
            syntax = supported[0]
        elif syntax not in supported:
            return self._present_failed(
                None, _diag(diag.RECORD_SYNTAX_UNSUPPORTED, syntax), reference_id
            )
        count = min(count, rs.hits - start + 1, self.config.max_present)
        if count == 0:
            return PresentResponse(
                0, start, PresentStatus.SUCCESS, ResponseRecords(()), reference_id=reference_id
            )
        try:
            result = await self._call(
                self.backend.present(
                    PresentQuery(self.context, rs, start, count, syntax, element_set, requested)
                )
            )
        except Exception:
            log.exception("backend present failed")
            result = PresentResult(diagnostic=_diag(diag.TEMPORARY_SYSTEM_ERROR, "present failed"))
        if result.diagnostic is not None:
            return self._present_failed(None, result.diagnostic, reference_id)
        return self._pack(rs, start, count, result.records, reference_id)

    def _to_external(self, rec: RetrievalRecord) -> External:
        data = rec.data
        if isinstance(data, External):
            return data
        if isinstance(data, bytes):
            return External(rec.syntax, data)
        if isinstance(data, OpacRecord):
            return opac_external(data)
        assert self.context is not None
        return sutrs_external(data, _codec(self.context.charset))

    def _pack(
        self,
        rs: ResultSet,
        start: int,
        count: int,
        records: tuple[RetrievalRecord | DefaultDiag, ...],
        reference_id: bytes | None,
    ) -> PresentResponse:
        """Message-size packing after YAZ GFS: partial-2, surrogates 16/17."""
        out: list[NamePlusRecord] = []
        total = 0
        status = PresentStatus.SUCCESS
        for rec in records[:count]:
            if isinstance(rec, DefaultDiag):
                out.append(NamePlusRecord(rec, rs.databases[0]))
                continue
            ext = self._to_external(rec)
            size = external_size(ext)
            name = rec.database or rs.databases[0]
            if size > self.exceptional_record_size:
                out.append(NamePlusRecord(_diag(diag.RECORD_TOO_LARGE, str(size)), name))
                continue
            if total + size > self.preferred_message_size:
                if not out:
                    code = diag.RECORD_TOO_LARGE_FOR_MESSAGE if count > 1 else diag.RECORD_TOO_LARGE
                    out.append(NamePlusRecord(_diag(code, str(size)), name))
                    continue
                status = PresentStatus.PARTIAL_2
                break
            total += size
            out.append(NamePlusRecord(ext, name))
        if len(out) < count and status == PresentStatus.SUCCESS:
            status = PresentStatus.PARTIAL_4
        nxt = start + len(out)
        return PresentResponse(
            number_of_records_returned=len(out),
            next_result_set_position=0 if nxt > rs.hits else nxt,
            present_status=status,
            records=ResponseRecords(tuple(out)),
            reference_id=reference_id,
        )


class Z3950Target:
    """The asyncio listener: one :class:`TargetSession` per connection."""

    def __init__(self, backend: Backend, config: TargetConfig | None = None) -> None:
        self.backend = backend
        self.config = config or TargetConfig()
        self.server: asyncio.Server | None = None

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, sock: socket.socket | None = None
    ) -> asyncio.Server:
        """Listen; ``port=0`` picks an ephemeral port (see :attr:`port`). With ``sock`` (a
        bound, listening TCP socket, e.g. one inherited from the process that forked this one)
        accept on it instead; ``host`` and ``port`` are then ignored."""
        loop = asyncio.get_running_loop()
        if sock is not None:
            self.server = await loop.create_server(self.protocol, sock=sock)
        else:
            self.server = await loop.create_server(self.protocol, host, port)
        return self.server

    def protocol(self) -> asyncio.Protocol:
        """The protocol serving one connection: for an accept loop of the caller's own
        (``loop.connect_accepted_socket(target.protocol, sock)``)."""
        return _Connection(self)

    @property
    def port(self) -> int:
        """The bound port."""
        assert self.server is not None and self.server.sockets
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and wait for the listener to close."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


Replies = list[InitResponse | SearchResponse | PresentResponse | Close]


class _Connection(asyncio.Protocol):
    """One association, served until Close, EOF, idle timeout or a protocol error.

    Requests are answered one at a time, in order, each with one ``transport.write``. A request
    is handled right in ``data_received`` (see :attr:`TargetConfig.eager`); one whose backend
    call suspends finishes in a task, and reading pauses until it is answered. Reading also
    pauses while the peer does not take our writes (flow control)."""

    def __init__(self, target: Z3950Target) -> None:
        cfg = target.config
        self.config = cfg
        self.loop = asyncio.get_running_loop()
        self.assoc = Association(
            Role.TARGET, BerLimits(max_pdu_size=cfg.max_request_size, max_depth=cfg.max_depth)
        )
        self.backend = target.backend
        self.session: TargetSession | None = None
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.task: asyncio.Task[None] | None = None  # a request being answered in a task
        self.write_paused = False
        self.closed = False
        self.last = self.loop.time()  # last activity, for the idle timeout
        self.idle: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ transport events

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = str(transport.get_extra_info("peername"))
        self.session = TargetSession(self.backend, self.config, self.peer)
        if self.config.idle_timeout is not None:
            self.idle = self.loop.call_later(self.config.idle_timeout, self._check_idle)

    def data_received(self, data: bytes) -> None:
        self.last = self.loop.time()
        self.assoc.receive_data(data)
        if self.task is None and not self.write_paused:
            self._serve()
        elif self.transport is not None:
            self.transport.pause_reading()  # answer what we have first

    def eof_received(self) -> bool:
        self.assoc.receive_data(b"")
        if self.task is None and not self.write_paused:
            self._serve()
        return True  # half-open: _serve answers what came before the EOF, then closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.idle is not None:
            self.idle.cancel()
        if self.task is not None:
            self.task.cancel()
        if exc is not None:
            log.info("association with %s ended: %s", self.peer, exc)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.task is None and not self.closed:
            self._resume()

    # ------------------------------------------------------------------ serving

    def _close(self) -> None:
        self.closed = True
        if self.idle is not None:
            self.idle.cancel()
        if self.transport is not None:
            self.transport.close()  # after what is buffered has been written

    def _reply(self, replies: Replies) -> None:
        assert self.transport is not None
        send = self.assoc.send
        if len(replies) == 1:
            self.transport.write(send(replies[0]))
        elif replies:
            self.transport.write(b"".join([send(r) for r in replies]))

    def _resume(self) -> None:
        assert self.transport is not None
        self.transport.resume_reading()
        self._serve()

    def _serve(self) -> None:
        """Answer the whole requests received, in order, until more bytes are needed."""
        assoc = self.assoc
        session = self.session
        assert self.transport is not None and session is not None
        try:
            while not self.closed:
                if self.write_paused:
                    self.transport.pause_reading()
                    return
                try:
                    event = assoc.next_event()
                except RemoteProtocolError as err:
                    log.info("protocol error from %s: %s", self.peer, err)
                    self.transport.write(assoc.send(err.close))
                    self._close()
                    return
                if event is NEED_DATA:
                    return
                if event is CONNECTION_CLOSED or event is PAUSED:
                    self._close()  # PAUSED cannot happen: every request is answered in turn
                    return
                handling = session.handle(event)
                if not self.config.eager:
                    self._in_task(handling)
                    return
                steps = handling.__await__()
                try:
                    pending = steps.send(None)
                except StopIteration as done:
                    self._reply(done.value)
                    continue
                self._in_task(_Continue(steps, pending))
                return
        except (ConnectionError, ProtocolError) as exc:
            log.info("association with %s ended: %s", self.peer, exc)
            self._close()
        except Exception:
            log.exception("association with %s failed", self.peer)
            self._close()

    def _in_task(self, handling: Awaitable[Replies]) -> None:
        assert self.transport is not None
        self.transport.pause_reading()
        self.task = self.loop.create_task(self._finish(handling))

    async def _finish(self, handling: Awaitable[Replies]) -> None:
        try:
            self._reply(await handling)
        except (ConnectionError, ProtocolError) as exc:
            log.info("association with %s ended: %s", self.peer, exc)
            self._close()
        except Exception:
            log.exception("association with %s failed", self.peer)
            self._close()
        finally:
            self.task = None
        self.last = self.loop.time()
        if not self.closed and not self.write_paused:
            self._resume()

    def _check_idle(self) -> None:
        timeout = self.config.idle_timeout
        assert timeout is not None and self.transport is not None
        now = self.loop.time()
        if self.closed:
            return
        if self.task is not None or self.write_paused:  # busy: the clock runs while waiting
            self.idle = self.loop.call_at(now + timeout, self._check_idle)
            return
        due = self.last + timeout
        if now + 0.001 < due:
            self.idle = self.loop.call_at(due, self._check_idle)
            return
        if self.assoc.state in (State.OPEN, State.IDLE, State.INITIALISING):
            with contextlib.suppress(ProtocolError):
                self.transport.write(
                    self.assoc.send(Close(CloseReason.LACK_OF_ACTIVITY, "idle timeout"))
                )
        self._close()
