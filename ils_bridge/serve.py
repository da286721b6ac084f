"""``ils-bridge serve``: run the hub's listeners (SIP2 ACS, …) in one asyncio process, plus
optionally forked worker processes that share the Z39.50 listening socket (:class:`Workers`)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import mmap
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
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


async def serve_forever(
    start: Callable[[], Any], announce: Callable[[str], None], workers: Workers | None = None
) -> None:
    """Start the listeners with ``start()`` (a coroutine giving :class:`Running`), wait for
    SIGINT/SIGTERM, then stop them. ``workers`` (already forked) are watched meanwhile, and
    stopped and waited for at the end."""
    try:
        running: Running = await start()
    except BaseException:
        if workers is not None:
            await workers.stop()
        raise
    for listen in running.bound:
        announce(f"listening: {listen.label()}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        if workers is not None:
            workers.watch()
        await stop.wait()
    finally:
        announce("stopping")
        if workers is not None:
            workers.terminate()  # the workers stop while this process does
        await running.close()
        if workers is not None:
            await workers.stop()


# --------------------------------------------------------------------------- worker processes


def can_fork() -> bool:
    """True where worker processes can be forked (not on Windows)."""
    return hasattr(os, "fork") and sys.platform != "win32"


def parse_workers(text: str) -> int:
    """``--z3950-workers``: a count ≥ 1, or ``0``/``auto`` for one per CPU (1 without fork)."""
    text = text.strip().lower()
    if text in ("0", "auto"):
        return (os.cpu_count() or 1) if can_fork() else 1
    try:
        count = int(text)
    except ValueError:
        raise InvalidInput(f"--z3950-workers {text!r}: give a number of processes or 'auto'") from None
    if count < 0:
        raise InvalidInput(f"--z3950-workers {text!r}: the number of processes cannot be negative")
    return count


def bind_sockets(host: str, port: int, backlog: int = 100) -> list[socket.socket]:
    """Bound, listening, non-blocking TCP sockets for ``host:port``, as
    ``loop.create_server(host=..., port=...)`` makes them (one per address ``host`` resolves
    to; with ``port=0`` all of them on the port the first one got), to be shared by processes."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    socks: list[socket.socket] = []
    try:
        for family, type_, proto, _name, addr in dict.fromkeys(infos):
            sock = socket.socket(family, type_, proto)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(socks) > 1:
                addr = (addr[0], socks[0].getsockname()[1], *addr[2:])
            sock.bind(addr)
            sock.listen(backlog)
            sock.setblocking(False)
    except OSError:
        for sock in socks:
            sock.close()
        raise
    return socks


def _die_with_parent() -> None:
    """Linux: have the kernel send this process SIGTERM when its parent dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG


def _scrub_descriptors(keep: Sequence[int]) -> None:
    """Point every inherited file descriptor but stdio and ``keep`` at ``/dev/null``.

    A worker forked while the main process runs holds copies of its connections (a client's
    socket would stay open after the main process closed it), its database files and its
    event loop's descriptors. Overwriting them (rather than closing them) releases all that
    while no descriptor number is reused, so the main process's objects, alive but unused in
    the worker's memory, can never touch a descriptor of the worker's own."""
    try:
        fds = [int(name) for name in os.listdir("/dev/fd")]
    except OSError:  # no /dev/fd: nothing to scrub with confidence
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in fds:
            if fd > 2 and fd != null and fd not in keep:
                with contextlib.suppress(OSError):
                    os.dup2(null, fd, inheritable=False)
    finally:
        os.close(null)


class Loads:
    """Open connections per process (slot 0: the main process, 1…: the workers), in memory
    shared by the processes forked after it is made. Each slot has one writer; ``-1`` marks a
    process that is not running."""

    def __init__(self, slots: int) -> None:
        self._map = mmap.mmap(-1, 8 * slots)
        self.slots = memoryview(self._map).cast("q")
        for i in range(slots):
            self.slots[i] = -1

    def set(self, slot: int, count: int) -> None:
        self.slots[slot] = count

    def least_elsewhere(self, slot: int) -> int | None:
        """The fewest connections of another running process (None: no other one runs)."""
        others = [n for i, n in enumerate(self.slots) if i != slot and n >= 0]
        return min(others) if others else None


class SharedListener:
    """Accepts connections on listening sockets that other processes accept on too, one
    connection per wakeup, and leaves a connection to a less busy process when there is one:
    while this process has more open connections than another (:class:`Loads`) it waits, up
    to :attr:`MAX_DEFER` seconds, before taking a pending connection. (``loop.create_server``
    accepts every pending connection at once: a burst of clients would all land in the
    process that woke first.)"""

    MAX_DEFER = 0.05
    RETRY = 0.002
    ACCEPT_RETRY_DELAY = 1.0  # after EMFILE and the like, as asyncio does

    def __init__(
        self,
        socks: Sequence[socket.socket],
        protocol: Callable[[], asyncio.Protocol],
        loads: Loads | None = None,
        slot: int = 0,
    ) -> None:
        self.socks = list(socks)
        self.protocol = protocol
        self.loads = loads
        self.slot = slot
        self.conns: list[socket.socket] = []
        self.deferred_since: float | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    @property
    def port(self) -> int:
        return int(self.socks[0].getsockname()[1])

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._publish()
        for sock in self.socks:
            self.loop.add_reader(sock.fileno(), self._readable, sock)

    def _publish(self) -> int:
        self.conns = [c for c in self.conns if c.fileno() != -1]  # a closed transport's is -1
        if self.loads is not None:
            self.loads.set(self.slot, len(self.conns))
        return len(self.conns)

    def _pause(self, sock: socket.socket, delay: float) -> None:
        assert self.loop is not None
        self.loop.remove_reader(sock.fileno())
        self.loop.call_later(delay, self._resume, sock)

    def _resume(self, sock: socket.socket) -> None:
        if not self.closed and self.loop is not None:
            self.loop.add_reader(sock.fileno(), self._readable, sock)

    def _readable(self, sock: socket.socket) -> None:
        assert self.loop is not None
        mine = self._publish()
        least = self.loads.least_elsewhere(self.slot) if self.loads is not None else None
        if least is not None and mine > least:
            now = self.loop.time()
            if self.deferred_since is None or now - self.deferred_since > 2 * self.MAX_DEFER:
                self.deferred_since = now  # a new pending connection
            if now - self.deferred_since < self.MAX_DEFER:
                self._pause(sock, self.RETRY)
                return
        self.deferred_since = None
        try:
            conn, _addr = sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # another process took it
        except OSError as exc:
            if exc.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                raise
            log.error("cannot accept a connection: %s; pausing for %.0f s", exc, self.ACCEPT_RETRY_DELAY)
            self._pause(sock, self.ACCEPT_RETRY_DELAY)
            return
        conn.setblocking(False)
        self.conns.append(conn)
        self._publish()
        self.loop.create_task(self._connect(conn))

    async def _connect(self, conn: socket.socket) -> None:
        assert self.loop is not None
        try:
            await self.loop.connect_accepted_socket(self.protocol, conn)
        except Exception:
            log.exception("cannot serve an accepted connection")
            conn.close()

    async def close(self) -> None:
        """Stop accepting (open connections are left to end, as ``Server.close`` does)."""
        if self.closed:
            return
        self.closed = True
        for sock in self.socks:
            if self.loop is not None:
                self.loop.remove_reader(sock.fileno())
            sock.close()
        if self.loads is not None:
            self.loads.set(self.slot, -1)


class Workers:
    """``count`` forked processes each running ``start(slot)`` (a coroutine giving a
    :class:`Running`, e.g. the Z39.50 target on a socket bound before the fork; ``slot`` is
    the worker's number, 1 to ``count``) until SIGTERM or until this process dies (they
    ignore SIGINT: Ctrl-C stops this process, which stops them).

    Call :meth:`spawn` before the event loop starts (the workers then inherit as little as
    possible), :meth:`watch` once it runs: a worker that dies is logged and forked again,
    at once after a long life, with a doubling back-off (up to :attr:`MAX_DELAY`) while it
    keeps dying young. :meth:`stop` signals the workers and waits for them.

    In a worker, ``child_setup()`` runs first (drop inherited database connections without
    closing them, e.g. ``engine.dispose(close=False)``); every inherited descriptor but stdio
    and ``keep_fds`` is released. ``on_exit(slot)`` runs in this process when a worker has
    exited."""

    FIRST_DELAY = 0.5
    MAX_DELAY = 30.0
    STABLE = 10.0  #: a worker that ran this long before dying is restarted at once

    def __init__(
        self,
        count: int,
        start: Callable[[int], Awaitable[Running]],
        *,
        keep_fds: Sequence[int] = (),
        child_setup: Callable[[], None] | None = None,
        on_exit: Callable[[int], None] | None = None,
        name: str = "worker",
    ) -> None:
        self.count = count
        self.start = start
        self.keep_fds = tuple(keep_fds)
        self.child_setup = child_setup
        self.on_exit = on_exit
        self.name = name
        self.parent = os.getpid()
        self.pids: dict[int, int] = {}  # pid → slot
        self.started: dict[int, float] = {}  # slot → monotonic start time
        self.streak: dict[int, int] = {}  # slot → deaths in a row shortly after starting
        self.pending: dict[int, asyncio.TimerHandle] = {}  # slot → scheduled restart
        self.stopping = False
        self.loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ main process
    def spawn(self) -> None:
        """Fork every worker (before the event loop runs)."""
        for slot in range(self.count):
            self._fork(slot)

    def _fork(self, slot: int) -> None:
        self.pending.pop(slot, None)
        if self.stopping:
            return
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            self.streak[slot] = self.streak.get(slot, 0) + 1
            log.error("cannot fork a %s process: %s", self.name, exc)
            self._schedule(slot)
            return
        if pid == 0:  # the worker: never returns into the caller
            code = 1
            try:
                code = self._child(slot + 1)
            finally:
                os._exit(code)
        self.pids[pid] = slot
        self.started[slot] = time.monotonic()
        log.info("%s %d started (pid %d)", self.name, slot + 1, pid)

    def watch(self) -> None:
        """Restart workers that die (call in the running event loop of this process)."""
        self.loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            self.loop.add_signal_handler(signal.SIGCHLD, self._reap)
        self._reap()  # any that died before the handler was there
        running = set(self.pids.values())
        for slot in range(self.count):  # any that could not be forked before the loop ran
            if slot not in running and slot not in self.pending:
                self._schedule(slot)

    def _reap(self) -> None:
        for pid, slot in list(self.pids.items()):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done != pid:
                continue
            del self.pids[pid]
            if self.on_exit is not None:
                self.on_exit(slot + 1)
            if self.stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            lived = time.monotonic() - self.started.get(slot, 0.0)
            self.streak[slot] = self.streak.get(slot, 0) + 1 if lived < self.STABLE else 0
            delay = self._schedule(slot)
            log.warning(
                "%s %d (pid %d) %s after %.1f s; restarting it in %.1f s",
                self.name, slot + 1, pid, how, lived, delay,
            )

    def _schedule(self, slot: int) -> float:
        streak = self.streak.get(slot, 0)
        delay = 0.0 if streak == 0 else min(self.MAX_DELAY, self.FIRST_DELAY * 2 ** (streak - 1))
        if self.loop is not None and not self.stopping:
            self.pending[slot] = self.loop.call_later(delay, self._fork, slot)
        return delay

    def terminate(self) -> None:
        """Stop restarting and ask every worker to stop (SIGTERM)."""
        self.stopping = True
        for handle in self.pending.values():
            handle.cancel()
        self.pending.clear()
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    async def stop(self, timeout: float = 10.0) -> None:
        """:meth:`terminate`, then wait for every worker (SIGKILL after ``timeout``)."""
        self.terminate()
        deadline = time.monotonic() + timeout
        while self.pids and time.monotonic() < deadline:
            self._reap()
            if self.pids:
                await asyncio.sleep(0.02)
        for pid in list(self.pids):
            log.warning("%s pid %d did not stop; killing it", self.name, pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            slot = self.pids.pop(pid)
            if self.on_exit is not None:
                self.on_exit(slot + 1)
        if self.loop is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                self.loop.remove_signal_handler(signal.SIGCHLD)

    # ------------------------------------------------------------------ worker process
    def _child(self, slot: int) -> int:
        """Run in the forked worker; its exit status."""
        # Forked maybe from within the main process's event loop: forget it and its signals.
        # Ctrl-C reaches the whole process group: the main process stops the workers itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for sig in (signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(-1)
        _die_with_parent()
        if os.getppid() != self.parent:  # the parent died before prctl
            return 0
        _scrub_descriptors(self.keep_fds)
        asyncio.events._set_running_loop(None)
        try:
            if self.child_setup is not None:
                self.child_setup()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._serve(slot))
        except BaseException:
            log.exception("%s pid %d failed", self.name, os.getpid())
            return 1
        return 0

    async def _serve(self, slot: int) -> None:
        running = await self.start(slot)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        try:
            while not stop.is_set() and os.getppid() == self.parent:  # orphaned: stop too
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
        finally:
            await running.close()
