"""The asyncio server and client over loopback (127.0.0.1, port 0)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import pytest

from protocols.sip2 import (
    CheckoutRequest,
    CheckoutResponse,
    CodecConfig,
    PatronStatusRequest,
    PatronStatusResponse,
    ScStatusRequest,
    SessionConfig,
    Sip2Client,
    Sip2Server,
    decode,
    encode,
)

from ._acs import DATE, Terminal, TinyAcs

PATRON = "440101199001011234"


def run(coro_fn: Callable[[Sip2Server, TinyAcs], Awaitable[None]], **kw: object) -> TinyAcs:
    acs = TinyAcs()

    async def main() -> None:
        server = Sip2Server(acs, **kw)  # type: ignore[arg-type]
        await server.start("127.0.0.1", 0)
        try:
            await asyncio.wait_for(coro_fn(server, acs), 10)
        finally:
            await server.close()

    asyncio.run(main())
    return acs


async def raw(port: int, data: bytes, *, read: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    out = b""
    if read:
        with contextlib.suppress(TimeoutError):
            out = await asyncio.wait_for(reader.read(65536), 2)
    writer.close()
    return out


CHECKOUT = CheckoutRequest.create(
    AO="CN-440100-ZG", AA=PATRON, AB="39001000123", transaction_date=DATE
)


def test_client_and_server_session() -> None:
    async def body(server: Sip2Server, acs: TinyAcs) -> None:
        async with Sip2Client("127.0.0.1", server.port, timeout=5) as client:
            assert await client.login("sc01", "secret", "BR01")
            status = await client.request(ScStatusRequest())
            assert status.get("AM") == "中心馆"
            out = await client.request(CHECKOUT)
            assert isinstance(out, CheckoutResponse) and out.ok == "1"
            assert out.title_identifier == "红楼梦" and out.sequence == 2
            assert out.screen_messages == ("借书成功",)

    acs = run(body)
    assert [m.CODE for m in acs.calls] == ["93", "99", "11"]


def test_duplicate_and_97_and_96_over_one_connection() -> None:
    from protocols.sip2 import LoginRequest, RequestAcsResend

    async def body(server: Sip2Server, acs: TinyAcs) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)

        async def ask(data: bytes) -> bytes:
            writer.write(data)
            await writer.drain()
            return await asyncio.wait_for(reader.readuntil(b"\r"), 5)

        assert (await ask(encode(LoginRequest.create(CN="sc01", CO="secret", sequence=0))))[
            :3
        ] == b"941"
        frame = encode(CHECKOUT.replace(sequence=1))
        first = await ask(frame)
        assert await ask(frame) == first  # retransmission: from cache
        assert await ask(encode(RequestAcsResend(checksummed=True))) == first
        assert await ask(frame[:-5] + b"0000\r") == b"96AZFEF6\r"
        # byte-by-byte writes
        for byte in encode(CHECKOUT.replace(sequence=2))[:-1]:
            writer.write(bytes([byte]))
            await writer.drain()
        assert (await ask(b"\r")).startswith(b"121")
        writer.close()

    acs = run(body)
    assert [m.CODE for m in acs.calls] == ["93", "11", "11"]


def test_login_binds_terminal_encoding() -> None:
    from protocols.sip2 import LoginRequest

    seen: list[object] = []

    async def body(server: Sip2Server, acs: TinyAcs) -> None:
        gb = CodecConfig(encoding="gb18030")
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode(LoginRequest.create(CN="sc01", CO="secret", CP="GB", sequence=0)))
        assert (await reader.readuntil(b"\r")).startswith(b"941")
        request = PatronStatusRequest.create(AO="ZG", AA="张三", transaction_date=DATE)
        writer.write(encode(request.replace(sequence=1), gb))
        reply = decode(await reader.readuntil(b"\r"), gb)
        assert isinstance(reply, PatronStatusResponse)
        assert reply.personal_name == "张三" and reply.patron_identifier == "张三"
        seen.append(acs.calls[-1])
        writer.close()

    run(body)
    assert seen and seen[0].patron_identifier == "张三"  # type: ignore[attr-defined]
    assert Terminal("GB", "gb18030") == Terminal("GB", "gb18030")


@pytest.mark.parametrize(
    "opening", [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"GET / HTTP/1.1\r\n\r\n"]
)
def test_non_sip_client_is_dropped_without_reply(opening: bytes) -> None:
    async def body(server: Sip2Server, acs: TinyAcs) -> None:
        assert await raw(server.port, opening) == b""

    assert run(body).calls == []


def test_request_before_login_closes() -> None:
    async def body(server: Sip2Server, acs: TinyAcs) -> None:
        assert await raw(server.port, encode(CHECKOUT)) == b""

    assert run(body).calls == []


def test_idle_timeout_closes() -> None:
    async def body(server: Sip2Server, acs: TinyAcs) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await asyncio.wait_for(reader.read(), 3) == b""  # EOF from the server
        writer.close()

    run(body, idle_timeout=0.2)


def test_client_timeout() -> None:
    async def body(server: Sip2Server, acs: TinyAcs) -> None:
        client = Sip2Client("127.0.0.1", server.port, timeout=0.3)
        await client.connect()
        with pytest.raises(TimeoutError):
            await client.request(CHECKOUT)  # server waits for login... and never answers
        await client.close()

    async def slow(info: object, req: object) -> object:
        await asyncio.sleep(5)
        raise AssertionError

    async def main() -> None:
        server = Sip2Server(slow, SessionConfig(login_required=False))  # type: ignore[arg-type]
        await server.start()
        try:
            await body(server, TinyAcs())
        finally:
            await server.close()

    asyncio.run(main())


def test_logs_mask_patron_identifiers(caplog: pytest.LogCaptureFixture) -> None:
    from protocols.sip2 import LoginRequest

    async def body(server: Sip2Server, acs: TinyAcs) -> None:
        login = encode(LoginRequest.create(CN="sc01", CO="secret", sequence=0))
        bad = encode(CHECKOUT.replace(sequence=1))[:-5] + b"0000\r"
        await raw(server.port, login + encode(CHECKOUT.replace(sequence=2)) + bad)

    with caplog.at_level(logging.DEBUG, logger="protocols.sip2"):
        run(body)
    text = caplog.text
    assert "*" * 16 + PATRON[-2:] in text  # the masked form is logged
    assert "checksum" in text
    assert PATRON not in text and "secret" not in text


# -- how handlers are run: stepped by hand in data_received, resumed by their futures ----------

STATUS = PatronStatusRequest.create(language="019", transaction_date=DATE, AO="CN-440100-ZG", AA=PATRON, AC="", AD="")


def _status_answer(req: object, note: str) -> PatronStatusResponse:
    return PatronStatusResponse.create(patron_status=" " * 14, language="019", transaction_date=DATE,
                                       AO="CN-440100-ZG", AA=PATRON, AE="", BL="Y", AF=note)


async def _serve(handler: Callable[[object, object], Awaitable[object]], body: Callable[[int], Awaitable[None]],
                 **kw: object) -> None:
    server = Sip2Server(handler, SessionConfig(login_required=False), **kw)  # type: ignore[arg-type]
    await server.start()
    try:
        await asyncio.wait_for(body(server.port), 10)
    finally:
        await server.close()


async def _read_frames(reader: asyncio.StreamReader, n: int) -> list[bytes]:
    return [await asyncio.wait_for(reader.readuntil(b"\r"), 5) for _ in range(n)]


@pytest.mark.parametrize("how", ["inline", "future", "bare-yield", "thread", "task"])
def test_pipelined_requests_are_answered_in_order_however_the_handler_waits(how: str) -> None:
    seen: list[str] = []

    async def handler(info: object, req: PatronStatusRequest) -> PatronStatusResponse:
        note = req.get("AD") or ""
        seen.append(note)
        loop = asyncio.get_running_loop()
        if how == "future":
            fut = loop.create_future()
            loop.call_later(0.01, fut.set_result, None)
            await fut
        elif how == "bare-yield":
            await asyncio.sleep(0)
        elif how == "thread":
            await loop.run_in_executor(None, lambda: None)
        elif how == "task":
            await asyncio.sleep(0.01)
        return _status_answer(req, note)

    async def body(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"".join(encode(STATUS.with_field("AD", str(i))) for i in range(5)))
        frames = await _read_frames(reader, 5)
        assert [decode(f).get("AF") for f in frames] == [str(i) for i in range(5)]
        writer.close()

    asyncio.run(_serve(handler, body, **({"handler_timeout": 5.0} if how == "task" else {})))
    assert seen == [str(i) for i in range(5)]


def test_a_client_gone_while_its_handler_waits_does_not_disturb_the_others() -> None:
    gate: asyncio.Future[None] | None = None
    finished: list[str] = []

    async def handler(info: object, req: PatronStatusRequest) -> PatronStatusResponse:
        nonlocal gate
        note = req.get("AD") or ""
        if note == "slow":
            gate = asyncio.get_running_loop().create_future()
            try:
                await gate
            finally:
                finished.append("slow")
        return _status_answer(req, note)

    async def body(port: int) -> None:
        _r1, w1 = await asyncio.open_connection("127.0.0.1", port)
        w1.write(encode(STATUS.with_field("AD", "slow")))
        await w1.drain()
        while gate is None:
            await asyncio.sleep(0.01)
        w1.close()  # gone while its request is pending
        await asyncio.sleep(0.05)
        r2, w2 = await asyncio.open_connection("127.0.0.1", port)
        w2.write(encode(STATUS.with_field("AD", "fast")))
        assert decode((await _read_frames(r2, 1))[0]).get("AF") == "fast"
        gate.set_result(None)  # must not write to the closed connection or raise
        await asyncio.sleep(0.05)
        w2.close()

    asyncio.run(_serve(handler, body))
    assert finished == ["slow"]


def test_a_handler_over_its_timeout_closes_the_connection() -> None:
    async def handler(info: object, req: object) -> object:
        await asyncio.sleep(5)
        raise AssertionError

    async def body(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(encode(STATUS))
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()

    asyncio.run(_serve(handler, body, handler_timeout=0.1))


def test_a_failing_handler_closes_only_its_connection() -> None:
    async def handler(info: object, req: PatronStatusRequest) -> PatronStatusResponse:
        if req.get("AD") == "boom":
            await asyncio.sleep(0)
            raise RuntimeError("a bug")
        return _status_answer(req, "ok")

    async def body(port: int) -> None:
        r1, w1 = await asyncio.open_connection("127.0.0.1", port)
        w1.write(encode(STATUS.with_field("AD", "boom")))
        assert await asyncio.wait_for(r1.read(), 5) == b""
        r2, w2 = await asyncio.open_connection("127.0.0.1", port)
        w2.write(encode(STATUS))
        assert decode((await _read_frames(r2, 1))[0]).get("AF") == "ok"
        w1.close()
        w2.close()

    asyncio.run(_serve(handler, body))
