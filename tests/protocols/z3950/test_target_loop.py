"""The target's connection handling: eager answers, backends that suspend, cancellation,
pipelined requests, flow of replies in order."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from protocols.z3950 import oids
from protocols.z3950.apdu import (
    Close,
    CloseReason,
    DefaultDiag,
    InitRequest,
    InitResponse,
    Pdu,
    PresentRequest,
    PresentResponse,
    SearchRequest,
    SearchResponse,
    encode_pdu,
)
from protocols.z3950.connection import NEED_DATA, Association, Role
from protocols.z3950.origin import Z3950Origin
from protocols.z3950.pqf import parse_pqf
from protocols.z3950.target import (
    PresentQuery,
    PresentResult,
    SearchQuery,
    SearchResult,
    TargetConfig,
    TargetSession,
    Z3950Target,
)

from .support import MemoryBackend


@dataclass
class SuspendingBackend(MemoryBackend):
    """Answers like MemoryBackend, after suspending (as a backend offloading to a thread)."""

    delay: float = 0.01
    calls: list[str] = field(default_factory=list)

    async def search(self, query: SearchQuery) -> SearchResult:
        self.calls.append("search")
        await asyncio.sleep(self.delay)
        await asyncio.sleep(0)
        return await super().search(query)

    async def present(self, query: PresentQuery) -> PresentResult:
        self.calls.append("present")
        await asyncio.to_thread(lambda: None)
        return await super().present(query)


@dataclass
class StuckBackend(MemoryBackend):
    """A search that never ends, and notes its cancellation."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: list[bool] = field(default_factory=list)

    async def search(self, query: SearchQuery) -> SearchResult:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.append(True)
            raise
        raise AssertionError("unreachable")


class FailingBackend(MemoryBackend):
    async def search(self, query: SearchQuery) -> SearchResult:
        raise RuntimeError("boom")


def _replies(data: bytes) -> list[Pdu]:
    origin = Association(Role.ORIGIN)
    origin.send(InitRequest())  # so that the origin accepts the target's replies
    origin.receive_data(data)
    out: list[Pdu] = []
    while True:
        event = origin.next_event()
        if event is NEED_DATA:
            return out
        assert not isinstance(event, type(NEED_DATA))
        out.append(event)  # type: ignore[arg-type]
        if isinstance(event, InitResponse):
            for _ in range(3):
                origin._pending.append(SearchResponse)  # the origin "sent" the pipelined requests
                origin._pending.append(PresentResponse)


async def _pipelined(target: Z3950Target, requests: list[bytes]) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
    writer.write(b"".join(requests))  # every request at once, in one segment
    await writer.drain()
    writer.write_eof()
    out = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return out


@pytest.mark.parametrize("eager", [True, False])
@pytest.mark.parametrize("suspending", [True, False])
def test_pipelined_requests_are_answered_in_order(eager: bool, suspending: bool) -> None:
    backend = SuspendingBackend() if suspending else MemoryBackend()
    requests = [encode_pdu(InitRequest())]
    for i, term in enumerate(("java", "红楼梦", "knuth")):
        name = f"s{i}"
        requests.append(encode_pdu(SearchRequest(parse_pqf(term), result_set_name=name)))
        requests.append(encode_pdu(PresentRequest(name, 1, 1, None, oids.USMARC)))

    async def main() -> bytes:
        target = Z3950Target(backend, TargetConfig(eager=eager))
        await target.start()
        try:
            return await _pipelined(target, requests)
        finally:
            await target.close()

    replies = _replies(asyncio.run(asyncio.wait_for(main(), 20)))
    kinds = [type(r).__name__ for r in replies]
    assert kinds == ["InitResponse"] + ["SearchResponse", "PresentResponse"] * 3
    hits = [r.result_count for r in replies if isinstance(r, SearchResponse)]
    assert hits == [1, 1, 1]
    for r in replies:
        if isinstance(r, PresentResponse):
            assert r.number_of_records_returned == 1
    if suspending:
        assert isinstance(backend, SuspendingBackend)
        assert backend.calls == ["search", "present"] * 3


@pytest.mark.parametrize("eager", [True, False])
def test_origin_scenario_without_and_with_eager(eager: bool) -> None:
    async def main() -> None:
        target = Z3950Target(SuspendingBackend(delay=0), TargetConfig(eager=eager))
        await target.start()
        try:
            async with await Z3950Origin.connect("127.0.0.1", target.port, timeout=5) as z:
                assert (await z.init()).result
                found = await z.search("@attr 1=4 java")
                assert found.result_count == 1
                page = await z.present(1, 1, syntax=oids.USMARC)
                assert page.number_of_records_returned == 1
        finally:
            await target.close()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_dropped_connection_cancels_a_suspended_backend_call() -> None:
    backend = StuckBackend()

    async def main() -> None:
        target = Z3950Target(backend)
        await target.start()
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", target.port)
            writer.write(encode_pdu(InitRequest()) + encode_pdu(SearchRequest(parse_pqf("x"))))
            await writer.drain()
            await asyncio.wait_for(backend.started.wait(), 5)
            writer.close()
            for _ in range(200):
                if backend.cancelled:
                    break
                await asyncio.sleep(0.01)
        finally:
            await target.close()

    asyncio.run(asyncio.wait_for(main(), 20))
    assert backend.cancelled == [True]


def test_backend_timeout_cancels_the_call_and_answers_diagnostic_2() -> None:
    backend = StuckBackend()

    async def main() -> SearchResponse:
        target = Z3950Target(backend, TargetConfig(backend_timeout=0.1))
        await target.start()
        try:
            async with await Z3950Origin.connect("127.0.0.1", target.port, timeout=5) as z:
                await z.init()
                found = await z.search("x")
                # the association goes on after the timeout
                assert (await z.search("@set nope")).search_status is False
                return found
        finally:
            await target.close()

    found = asyncio.run(asyncio.wait_for(main(), 20))
    assert found.records == DefaultDiag(2, "search failed")
    assert backend.cancelled == [True, True]


@pytest.mark.parametrize("eager", [True, False])
def test_backend_error_is_diagnostic_2(eager: bool) -> None:
    async def main() -> SearchResponse:
        target = Z3950Target(FailingBackend(), TargetConfig(eager=eager))
        await target.start()
        try:
            async with await Z3950Origin.connect("127.0.0.1", target.port, timeout=5) as z:
                await z.init()
                return await z.search("x")
        finally:
            await target.close()

    found = asyncio.run(asyncio.wait_for(main(), 20))
    assert found.records == DefaultDiag(2, "search failed")


def test_session_calls_a_backend_that_answers_at_once_without_a_task() -> None:
    """A backend call that does not suspend completes while the session is stepped by hand
    (as the listener does it in ``data_received``): no task, no timer."""
    session = TargetSession(MemoryBackend(), TargetConfig())

    def step(pdu: Pdu) -> list[object]:
        steps = session.handle(pdu).__await__()
        with pytest.raises(StopIteration) as done:
            steps.send(None)
        return list(done.value.value)

    async def main() -> None:
        (init,) = step(InitRequest())
        assert isinstance(init, InitResponse) and init.result
        (found,) = step(SearchRequest(parse_pqf("java")))
        assert isinstance(found, SearchResponse) and found.result_count == 1
        (close,) = step(Close())
        assert isinstance(close, Close) and close.close_reason == CloseReason.FINISHED

    asyncio.run(main())
