"""Our asyncio origin against our asyncio target (loopback, in-memory backend)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.z3950 import apdu, oids
from protocols.z3950.apdu import (
    AttributesPlusTerm,
    Close,
    CloseReason,
    DefaultDiag,
    External,
    InitRequest,
    MalformedQuery,
    PresentRequest,
    PresentStatus,
    RawQuery,
    ResponseRecords,
    RpnQuery,
    SearchRequest,
    decode_pdu,
    encode_pdu,
)
from protocols.z3950.ber import CONTEXT, Tlv
from protocols.z3950.charneg import proposal_info
from protocols.z3950.connection import CONNECTION_CLOSED, Association, RemoteProtocolError, Role
from protocols.z3950.diagnostics import diagnostics_from_diag1
from protocols.z3950.origin import AssociationClosed, Z3950Origin
from protocols.z3950.pqf import parse_pqf
from protocols.z3950.records import opac_record, sutrs_text
from protocols.z3950.target import (
    SearchQuery,
    SearchResult,
    TargetConfig,
    TargetSession,
    Z3950Target,
)

from .strategies import CLOSES, PRESENT_REQUESTS, SEARCH_REQUESTS
from .support import BOOKS, MemoryBackend

Scenario = Callable[[Z3950Origin, MemoryBackend], Awaitable[None]]


def run(
    scenario: Scenario, config: TargetConfig | None = None, backend: MemoryBackend | None = None
) -> MemoryBackend:
    backend = backend or MemoryBackend()

    async def main() -> None:
        target = Z3950Target(backend, config)
        await target.start("127.0.0.1", 0)
        try:
            origin = await Z3950Origin.connect("127.0.0.1", target.port, timeout=5)
            try:
                await scenario(origin, backend)
            finally:
                await origin.close()
        finally:
            await target.close()

    asyncio.run(asyncio.wait_for(main(), 20))
    return backend


def records_of(resp: object) -> tuple[External | DefaultDiag, ...]:
    recs = getattr(resp, "records", None)
    assert isinstance(recs, ResponseRecords), recs
    return tuple(r.record for r in recs.records)  # type: ignore[misc]


def test_init_search_present_close() -> None:
    async def scenario(z: Z3950Origin, backend: MemoryBackend) -> None:
        init = await z.init(charsets=("UTF-8",))
        assert init.result and init.implementation_id == "ils-bridge"
        assert z.charset_response is not None and z.charset_response.charset == "UTF-8"
        found = await z.search("@attr 1=7 9787111213826")
        assert (found.result_count, found.search_status) == (1, True)
        page = await z.present(1, 1, syntax="usmarc")
        (rec,) = records_of(page)
        assert isinstance(rec, External) and isinstance(rec.encoding, bytes)
        assert "Java编程思想".encode() in rec.encoding
        assert page.next_result_set_position == 0  # end of set, as GFS does
        closed = await z.close()
        assert closed == Close(CloseReason.FINISHED, "Association terminated by client")

    backend = run(scenario)
    assert backend.contexts[0].charset == "UTF-8" and backend.contexts[0].negotiated


def test_gb18030_listener_decodes_terms_and_encodes_records() -> None:
    async def scenario(z: Z3950Origin, backend: MemoryBackend) -> None:
        await z.init(charsets=("GB18030", "UTF-8"), records_in_selected_charsets=True)
        assert z.charset_response is not None and z.charset_response.charset == "GB18030"
        assert z.charset == "gb18030"
        found = await z.search("@attr 1=4 红楼梦")
        assert found.result_count == 1
        (rec,) = records_of(await z.present(1, 1, syntax="unimarc"))
        assert isinstance(rec, External) and isinstance(rec.encoding, bytes)
        assert "红楼梦".encode("gb18030") in rec.encoding

    backend = run(scenario, TargetConfig(charset="GB18030"))
    assert backend.terms == ["红楼梦"]
    assert backend.contexts[0].records_in_selected_charset


def test_listener_may_let_the_origin_pick_a_negotiable_charset() -> None:
    async def scenario(z: Z3950Origin, backend: MemoryBackend) -> None:
        await z.init(charsets=("UTF-8",))
        assert z.charset_response is not None and z.charset_response.charset == "UTF-8"
        assert (await z.search("@attr 1=4 红楼梦")).result_count == 1

    config = TargetConfig(charset="GB18030", negotiable_charsets=("UTF-8",))
    backend = run(scenario, config)
    assert backend.contexts[0].charset == "UTF-8"
    # Without it, the GB18030 listener answers GB18030 whatever is proposed.
    backend = run(lambda z, b: z.init(charsets=("UTF-8",)), TargetConfig(charset="GB18030"))  # type: ignore[arg-type,return-value]
    assert backend.contexts[0].charset == "GB18030"


def test_no_negotiation_uses_the_listener_charset() -> None:
    async def scenario(z: Z3950Origin, backend: MemoryBackend) -> None:
        await z.init(charsets=())
        assert z.charset_response is None
        z.query_charset = "gb18030"  # per-target configuration on the origin side
        assert (await z.search("@attr 1=1003 曹雪芹")).result_count == 1

    backend = run(scenario, TargetConfig(charset="GB18030"))
    assert not backend.contexts[0].negotiated


def test_diagnostics() -> None:
    async def scenario(z: Z3950Origin, backend: MemoryBackend) -> None:
        await z.init()
        assert (await z.search("@attr 1=9999 x")).records == DefaultDiag(114, "9999")
        assert (await z.search("x", databases=("nosuch",))).records == DefaultDiag(235, "nosuch")
        assert (await z.search("x", databases=("offline",))).records == DefaultDiag(109, "offline")
        # A failed search leaves no result set: 30, as Zebra does.
        gone = await z.present(1, 1)
        assert (gone.present_status, gone.records) == (
            PresentStatus.FAILURE,
            DefaultDiag(30, "default"),
        )
        assert (await z.search("@or java knuth", result_set_name="s1")).result_count == 2
        out = await z.present(3, 1, result_set_name="s1")
        assert out.records == DefaultDiag(13, "3")
        assert (await z.present(0, 1, result_set_name="s1")).records == DefaultDiag(13, "0")
        bad = await z.present(1, 1, result_set_name="s1", syntax="1.2.840.10003.5.105")
        assert bad.records == DefaultDiag(239, "1.2.840.10003.5.105")
        # Clamped to the end of the set.
        both = await z.present(1, 10, result_set_name="s1", syntax="xml")
        assert both.number_of_records_returned == 2 and both.next_result_set_position == 0
        # Replace indicator off on an existing set: 21.
        req = SearchRequest(
            RpnQuery(AttributesPlusTerm((), b"java")), result_set_name="s1", replace_indicator=False
        )
        resp = await z._request(req)
        assert getattr(resp, "records", None) == DefaultDiag(21, "s1")

    run(scenario)


def test_query_diagnostics_107_108_125() -> None:
    async def scenario(z: Z3950Origin, backend: MemoryBackend) -> None:
        await z.init()
        cql = SearchRequest(RawQuery(104, Tlv(CONTEXT, 104, True)))
        assert getattr(await z._request(cql), "records", None) == DefaultDiag(107, "104")
        junk = SearchRequest(
            MalformedQuery(Tlv(CONTEXT, 1, True, b"", (Tlv(CONTEXT, 9, False, b""),)), "")
        )
        resp = await z._request(junk)
        records = getattr(resp, "records", None)
        assert isinstance(records, DefaultDiag) and records.condition == 108
        latin = SearchRequest(RpnQuery(AttributesPlusTerm((), b"\xff\xfe")))
        records = getattr(await z._request(latin), "records", None)
        assert isinstance(records, DefaultDiag) and records.condition == 125

    run(scenario)


def test_piggyback_opac_and_sutrs() -> None:
    async def scenario(z: Z3950Origin, backend: MemoryBackend) -> None:
        await z.init()
        found = await z.search(
            "@or java knuth", small_set_upper_bound=5, preferred_record_syntax=oids.SUTRS
        )
        assert found.number_of_records_returned == 2
        texts = [sutrs_text(r) for r in records_of(found) if isinstance(r, External)]
        assert texts[0] == "Java编程思想 / 埃克尔\n"
        (opac,) = records_of(await z.present(1, 1, syntax="opac"))
        assert isinstance(opac, External)
        holdings = opac_record(opac).holdings
        assert holdings is not None and holdings[0].call_number == "TP312/E22"  # type: ignore[union-attr]

    run(scenario)


def test_message_size_packing() -> None:
    async def scenario(z: Z3950Origin, backend: MemoryBackend) -> None:
        await z.init(preferred_message_size=300, exceptional_record_size=100_000)
        await z.search("@or @or java knuth 红楼梦")
        page = await z.present(1, 3)
        assert page.present_status == PresentStatus.PARTIAL_2
        assert 0 < page.number_of_records_returned < 3
        assert page.next_result_set_position == 1 + page.number_of_records_returned

    # The target negotiates down to at least 1024 bytes; a tighter target setting forces packing.
    run(scenario, TargetConfig(preferred_message_size=300))


def test_record_too_large() -> None:
    async def scenario(z: Z3950Origin, backend: MemoryBackend) -> None:
        await z.init()
        await z.search("java")
        (rec,) = records_of(await z.present(1, 1))
        assert isinstance(rec, DefaultDiag) and rec.condition == 17

    run(scenario, TargetConfig(exceptional_record_size=50))


def test_init_refused_with_diagnostic() -> None:
    async def scenario(z: Z3950Origin, backend: MemoryBackend) -> None:
        init = await z.init(user="mallory", password="secret")
        assert not init.result
        assert init.user_information is not None
        assert diagnostics_from_diag1(init.user_information) == (DefaultDiag(1011, "mallory"),)

    backend = run(scenario, backend=MemoryBackend(refuse_user="mallory"))
    assert backend.contexts[0].password == "secret"
    assert "secret" not in repr(backend.contexts[0])


def test_open_authentication_is_split() -> None:
    async def scenario(z: Z3950Origin, backend: MemoryBackend) -> None:
        await z.init(user="branch7", password="pw", open_auth=True)

    backend = run(scenario)
    assert (backend.contexts[0].user, backend.contexts[0].password) == ("branch7", "pw")


async def _raw(port: int, data: bytes, read: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    out = await asyncio.wait_for(reader.read(), 5) if read else b""
    writer.close()
    return out


def _serve_raw(data: bytes, config: TargetConfig | None = None) -> bytes:
    async def main() -> bytes:
        target = Z3950Target(MemoryBackend(), config)
        await target.start()
        try:
            return await _raw(target.port, data)
        finally:
            await target.close()

    return asyncio.run(asyncio.wait_for(main(), 20))


def test_garbage_gets_a_protocol_error_close() -> None:
    from protocols.z3950.apdu import decode_pdu

    reply = _serve_raw(bytes.fromhex("b484ffffffff"))
    close = decode_pdu(reply)
    assert isinstance(close, Close) and close.close_reason == CloseReason.PROTOCOL_ERROR
    search_first = _serve_raw(encode_pdu(SearchRequest(RpnQuery(AttributesPlusTerm((), b"x")))))
    close = decode_pdu(search_first)
    assert isinstance(close, Close) and close.close_reason == CloseReason.PROTOCOL_ERROR


def test_idle_timeout_closes_with_lack_of_activity() -> None:
    from protocols.z3950.apdu import decode_pdu

    reply = _serve_raw(encode_pdu(InitRequest())[:3], TargetConfig(idle_timeout=0.2))
    close = decode_pdu(reply)
    assert isinstance(close, Close) and close.close_reason == CloseReason.LACK_OF_ACTIVITY


def test_origin_timeout() -> None:
    async def main() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(5)

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            z = await Z3950Origin.connect("127.0.0.1", port, timeout=0.2)
            with pytest.raises(TimeoutError):
                await z.init()
            z.timeout = 0.1
            await z.close()
        finally:
            server.close()

    asyncio.run(asyncio.wait_for(main(), 10))


def test_origin_reports_target_close() -> None:
    async def main() -> None:
        async def closer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(100)
            writer.write(encode_pdu(Close(CloseReason.SHUTDOWN, "maintenance")))
            await writer.drain()
            await asyncio.sleep(0.5)
            writer.close()

        server = await asyncio.start_server(closer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            z = await Z3950Origin.connect("127.0.0.1", port, timeout=2)
            with pytest.raises(AssociationClosed) as err:
                await z.init()
            assert err.value.close == Close(CloseReason.SHUTDOWN, "maintenance")
            await z.close()
        finally:
            server.close()

    asyncio.run(asyncio.wait_for(main(), 10))


class SlowBackend(MemoryBackend):
    async def search(self, query: SearchQuery) -> SearchResult:
        await asyncio.sleep(5)
        return SearchResult(hits=0)


def test_slow_backend_gets_diagnostic_2() -> None:
    async def scenario(z: Z3950Origin, backend: MemoryBackend) -> None:
        await z.init()
        found = await z.search("x")
        assert found.records == DefaultDiag(2, "search failed")
        assert not found.search_status

    run(scenario, TargetConfig(backend_timeout=0.1), SlowBackend())


def test_books_fixture_is_sane() -> None:
    assert len(BOOKS) == 3
    assert BOOKS[0].marc().startswith(b"00")


@settings(max_examples=50)
@given(
    st.lists(
        st.one_of(
            SEARCH_REQUESTS,
            PRESENT_REQUESTS,
            st.builds(
                PresentRequest,
                result_set_id=st.sampled_from(["default", "s1", "nope"]),
                start=st.integers(-5, 10),
                count=st.integers(-2, 200),
                preferred_record_syntax=st.sampled_from(
                    [None, oids.USMARC, oids.SUTRS, oids.OPAC, oids.XML, "1.2.3"]
                ),
            ),
            st.builds(
                SearchRequest,
                query=st.sampled_from(
                    ["java", "@or java knuth", "@attr 1=9 x", "@set s1", "@attr 1=4 红楼梦"]
                ).map(parse_pqf),
                database_names=st.sampled_from(
                    [("Default",), ("books", "default"), ("offline",), ("x",), ()]
                ),
                result_set_name=st.sampled_from(["default", "s1"]),
                replace_indicator=st.booleans(),
                small_set_upper_bound=st.integers(0, 5),
                large_set_lower_bound=st.integers(0, 5),
                medium_set_present_number=st.integers(-1, 5),
                preferred_record_syntax=st.sampled_from([None, oids.USMARC, "1.2.3"]),
            ),
            CLOSES,
        ),
        max_size=8,
    ),
    st.sampled_from(["UTF-8", "GB18030"]),
)
def test_target_policy_never_breaks_the_protocol(requests: list[apdu.Pdu], charset: str) -> None:
    """Random requests after a valid Init: the target answers each one with a legal PDU."""

    async def main() -> None:
        config = TargetConfig(charset=charset, preferred_message_size=2000, max_result_sets=2)
        session = TargetSession(MemoryBackend(), config)
        assoc = Association(Role.TARGET)
        stream = encode_pdu(InitRequest(other_info=(proposal_info(["UTF-8"]),))) + b"".join(
            encode_pdu(r) for r in requests
        )
        assoc.receive_data(stream)
        assoc.receive_data(b"")
        while True:
            try:
                event = assoc.next_event()
            except RemoteProtocolError as err:
                assoc.send(err.close)
                return
            if event is CONNECTION_CLOSED:
                return
            for reply in await session.handle(event):
                wire = assoc.send(reply)  # LocalProtocolError here would be a policy bug
                assert decode_pdu(wire) == reply

    asyncio.run(main())
