"""Z39.50 origin (client): a thin asyncio shell over :class:`Association`.

Example::

    async with await Z3950Origin.connect("127.0.0.1", 210, timeout=10) as z:
        await z.init(charsets=("UTF-8",))
        found = await z.search('@attr 1=7 9787111213826', databases=("Default",))
        page = await z.present(1, 5, syntax=oids.UNIMARC)

Query terms are encoded with the negotiated charset when the target selected
one, otherwise with ``query_charset`` (per-target configuration, e.g.
``GB18030`` for older Chinese targets).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
from types import TracebackType

from . import oids
from .apdu import (
    AuthIdPass,
    AuthOpen,
    Close,
    CloseReason,
    InitRequest,
    InitResponse,
    Options,
    OtherInfo,
    Pdu,
    PresentRequest,
    PresentResponse,
    RpnQuery,
    SearchRequest,
    SearchResponse,
)
from .ber import BerLimits
from .charneg import CharsetResponse, find_charneg, normalise_charset, proposal_info
from .connection import (
    CONNECTION_CLOSED,
    NEED_DATA,
    Association,
    ConnectionClosed,
    NeedData,
    Paused,
    ProtocolError,
    Role,
    State,
)
from .pqf import parse_pqf

__all__ = ["AssociationClosed", "Z3950Origin"]


class AssociationClosed(ConnectionError):
    """The target closed the association (``close`` is its Close PDU, if any)."""

    def __init__(self, message: str, close: Close | None = None) -> None:
        super().__init__(message)
        self.close = close


class Z3950Origin:
    """One association with a target."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        timeout: float = 30.0,
        limits: BerLimits | None = None,
        query_charset: str = "utf-8",
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.timeout = timeout
        self.association = Association(
            Role.ORIGIN, limits or BerLimits(max_pdu_size=64 * 1024 * 1024)
        )
        self.query_charset = query_charset
        self.charset_response: CharsetResponse | None = None
        self._proposed: frozenset[str] = frozenset()
        self._broken: str | None = None

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        timeout: float = 30.0,
        limits: BerLimits | None = None,
        query_charset: str = "utf-8",
    ) -> Z3950Origin:
        """Open the TCP connection (within ``timeout``)."""
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        return cls(reader, writer, timeout=timeout, limits=limits, query_charset=query_charset)

    async def __aenter__(self) -> Z3950Origin:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -------------------------------------------------------------- plumbing

    async def _receive(self) -> Pdu:
        assoc = self.association
        while True:
            event = assoc.next_event()
            if event is NEED_DATA:
                data = await self._reader.read(65536)
                assoc.receive_data(data)
                continue
            if event is CONNECTION_CLOSED:
                raise AssociationClosed("target dropped the connection")
            assert not isinstance(event, NeedData | ConnectionClosed | Paused)
            return event

    async def _request(self, pdu: Pdu) -> Pdu:
        if self._broken is not None:
            raise AssociationClosed(f"association unusable: {self._broken}")
        self._writer.write(self.association.send(pdu))
        try:
            async with asyncio.timeout(self.timeout):
                await self._writer.drain()
                reply = await self._receive()
        except TimeoutError:
            # A late reply would be taken for the answer to the next request: give up the line.
            self._broken = "a request timed out"
            self._writer.close()
            raise
        except ProtocolError as err:
            self._broken = str(err)
            with contextlib.suppress(Exception):
                self._writer.write(self.association.send(err.close))
            raise
        if isinstance(reply, Close):
            with contextlib.suppress(ProtocolError):
                self._writer.write(self.association.send(Close(CloseReason.FINISHED)))
            raise AssociationClosed(
                f"target closed: {reply.diagnostic_information or reply.close_reason}", reply
            )
        return reply

    @property
    def charset(self) -> str:
        """Codec used for query terms: the negotiated one, else ``query_charset``.

        A selection we did not propose is ignored (yaz-ztest answers
        ``ISO-8859-1`` whatever is proposed; yaz-client then keeps UTF-8).
        """
        resp = self.charset_response
        if resp is not None and resp.charset and normalise_charset(resp.charset) in self._proposed:
            try:
                return codecs.lookup(resp.charset).name
            except LookupError:
                pass
        return self.query_charset

    # -------------------------------------------------------------- operations

    async def init(
        self,
        *,
        charsets: tuple[str, ...] = ("UTF-8",),
        records_in_selected_charsets: bool | None = None,
        user: str | None = None,
        password: str | None = None,
        group: str | None = None,
        open_auth: bool = False,
        preferred_message_size: int = 16 * 1024 * 1024,
        exceptional_record_size: int = 16 * 1024 * 1024,
        implementation_name: str = "ils-bridge Z39.50 origin",
    ) -> InitResponse:
        """Send Init (proposing ``charsets`` when not empty) and return the response.

        ``open_auth`` sends ``user/password`` as the ``open`` form; otherwise
        ``idPass`` is used when a user is given.
        """
        auth: AuthOpen | AuthIdPass | None = None
        if user is not None:
            auth = (
                AuthOpen(f"{user}/{password or ''}")
                if open_auth
                else AuthIdPass(user, password, group)
            )
        options = frozenset({Options.SEARCH, Options.PRESENT, Options.NAMED_RESULT_SETS})
        other: tuple[OtherInfo, ...] = ()
        if charsets:
            options |= {Options.NEGOTIATION_MODEL}
            other = (proposal_info(charsets, records_in_selected_charsets),)
            self._proposed = frozenset(normalise_charset(c) for c in charsets)
        req = InitRequest(
            options=options,
            preferred_message_size=preferred_message_size,
            exceptional_record_size=exceptional_record_size,
            id_authentication=auth,
            implementation_id="ils-bridge",
            implementation_name=implementation_name,
            implementation_version="0.1",
            other_info=other,
        )
        reply = await self._request(req)
        assert isinstance(reply, InitResponse)
        neg = find_charneg(reply.other_info)
        if isinstance(neg, CharsetResponse):
            self.charset_response = neg
        return reply

    async def search(
        self,
        query: str | RpnQuery,
        *,
        databases: tuple[str, ...] = ("Default",),
        result_set_name: str = "default",
        preferred_record_syntax: str | None = None,
        small_set_upper_bound: int = 0,
        large_set_lower_bound: int = 1,
        medium_set_present_number: int = 0,
        element_set: str | None = None,
    ) -> SearchResponse:
        """Search with PQF text (terms encoded with :attr:`charset`) or an RPN query."""
        rpn = parse_pqf(query, self.charset) if isinstance(query, str) else query
        reply = await self._request(
            SearchRequest(
                query=rpn,
                database_names=databases,
                result_set_name=result_set_name,
                small_set_upper_bound=small_set_upper_bound,
                large_set_lower_bound=large_set_lower_bound,
                medium_set_present_number=medium_set_present_number,
                small_set_element_set_names=element_set,
                medium_set_element_set_names=element_set,
                preferred_record_syntax=None
                if preferred_record_syntax is None
                else oids.syntax_oid(preferred_record_syntax),
            )
        )
        assert isinstance(reply, SearchResponse)
        return reply

    async def present(
        self,
        start: int = 1,
        count: int = 1,
        *,
        result_set_name: str = "default",
        syntax: str | None = oids.USMARC,
        element_set: str | None = None,
    ) -> PresentResponse:
        """Fetch ``count`` records from ``start`` (1-based); ``syntax`` is an OID or a name."""
        reply = await self._request(
            PresentRequest(
                result_set_id=result_set_name,
                start=start,
                count=count,
                record_composition=element_set,
                preferred_record_syntax=None if syntax is None else oids.syntax_oid(syntax),
            )
        )
        assert isinstance(reply, PresentResponse)
        return reply

    async def close(self, reason: int = CloseReason.FINISHED) -> Close | None:
        """Send Close, wait (within ``timeout``) for the target's Close, drop the line.

        After a timeout or protocol error the line is just dropped (returns ``None``).
        """
        reply: Close | None = None
        try:
            if self._broken is None and self.association.state in (State.OPEN, State.INITIALISING):
                self._writer.write(self.association.send(Close(reason)))
                async with asyncio.timeout(self.timeout):
                    await self._writer.drain()
                    while True:
                        pdu = await self._receive()
                        if isinstance(pdu, Close):
                            reply = pdu
                            break
        except (ProtocolError, ConnectionError, TimeoutError):
            pass
        finally:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        return reply
