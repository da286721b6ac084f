"""``ils-bridge serve``: run the hub's listeners (SIP2 ACS, …) in one asyncio process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidInput

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"sip2": 6001, "z3950": 2100}


@dataclass(frozen=True)
class Listen:
    kind: str
    host: str
    port: int

    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.kind} on {host}:{self.port}"


def parse_listen(kind: str, text: str) -> Listen:
    """``HOST:PORT``, ``:PORT``, ``PORT`` or ``HOST`` (default port) → :class:`Listen`."""
    text = text.strip()
    host, port_text = "0.0.0.0", ""
    if text.startswith("["):  # [::1]:6001
        end = text.find("]")
        host, rest = text[1:end], text[end + 1 :]
        port_text = rest.lstrip(":")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        host = host or "0.0.0.0"
    elif text.isdigit():
        port_text = text
    elif text:
        host = text
    try:
        port = int(port_text) if port_text else DEFAULT_PORTS[kind]
    except ValueError:
        raise InvalidInput(f"--{kind} {text!r}: the port must be a number") from None
    if not 0 <= port <= 65535:
        raise InvalidInput(f"--{kind} {text!r}: the port must be 0–65535")
    return Listen(kind, host, port)


@dataclass
class Running:
    """Started listeners: their bound addresses and how to stop them."""

    bound: list[Listen] = field(default_factory=list)
    closers: list[Callable[[], Any]] = field(default_factory=list)

    async def close(self) -> None:
        for closer in reversed(self.closers):
            result = closer()
            if asyncio.iscoroutine(result):
                with contextlib.suppress(Exception):
                    await result


async def serve_forever(start: Callable[[], Any], announce: Callable[[str], None]) -> None:
    """Start the listeners with ``start()`` (a coroutine giving :class:`Running`), wait for
    SIGINT/SIGTERM, then stop them."""
    running: Running = await start()
    for listen in running.bound:
        announce(f"listening: {listen.label()}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        announce("stopping")
        await running.close()
