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
