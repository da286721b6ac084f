"""``ils-bridge serve``: run the listeners (SIP2 ACS for self-check machines, Z39.50 target, …)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from typing import Any

import click

from ..errors import HubError
from ..secret import load_secret
from ..serve import (
    DEFAULT_PORTS,
    Listen,
    Loads,
    Running,
    SharedListener,
    Workers,
    bind_sockets,
    can_fork,
    parse_listen,
    parse_workers,
    serve_forever,
)
from .app import App, pass_app


@click.command()
@click.option("--sip2", "sip2", metavar="HOST:PORT", help=f"Start the SIP2 ACS here (default port {DEFAULT_PORTS['sip2']}).")
@click.option("--sip2-anonymous", metavar="LIBRARY",
              help="Accept SIP2 requests without a login (93), acting for LIBRARY. Default: login required.")
@click.option("--sip2-idle-timeout", default=600.0, show_default=True, type=float,
              help="Close SIP2 connections silent this many seconds.")
@click.option("--sip2-group-commit/--no-sip2-group-commit", default=True, show_default=True,
              help="Commit the SIP2 transactions that arrive together in one SQLite commit (each is "
              "still answered only once committed). Off: one commit per transaction.")
@click.option("--timezone", default=lambda: os.environ.get("ILS_BRIDGE_TZ", "Asia/Shanghai"),
              show_default="Asia/Shanghai or ILS_BRIDGE_TZ", help="Local time zone of SIP2 dates.")
@click.option("--z3950", "z3950", metavar="HOST:PORT",
              help=f"Start the Z39.50 target over the catalogue here (default port {DEFAULT_PORTS['z3950']}); "
              "databases: union (alias Default) and one per library code.")
@click.option("--z3950-charset", type=click.Choice(["utf-8", "gb18030"], case_sensitive=False),
              default="utf-8", show_default=True,
              help="Charset of Z39.50 terms and records when the client does not negotiate one "
              "(gb18030 for older Chinese clients).")
@click.option("--z3950-workers", "z3950_workers", metavar="N|auto", default="1", show_default=True,
              help="Processes serving the Z39.50 target (read-only, so it scales over CPU cores): "
              "this one plus N-1 forked workers sharing its listening socket, each restarted if it "
              "dies; 0 or auto: one per CPU. SIP2 stays in this process. Needs fork (not Windows).")
@pass_app
def serve(app: App, sip2: str | None, sip2_anonymous: str | None, sip2_idle_timeout: float,
          sip2_group_commit: bool, timezone: str, z3950: str | None, z3950_charset: str,
          z3950_workers: str) -> None:
    """Run the hub's listeners until interrupted (Ctrl-C or SIGTERM).

    With no listener option every listener starts on its default port on all addresses;
    naming a listener (e.g. --sip2 127.0.0.1:6001) starts only the ones named.
    """
    named = {"sip2": sip2, "z3950": z3950}
    wanted = [parse_listen(kind, text) for kind, text in named.items() if text is not None]
    if not wanted:
        wanted = [Listen(kind, "0.0.0.0", port) for kind, port in DEFAULT_PORTS.items() if kind in named]
    workers = parse_workers(z3950_workers)
    if workers > 1 and not can_fork():
        raise HubError(f"--z3950-workers {workers}: this platform cannot fork worker processes; "
                       "use --z3950-workers 1")
    if workers > 1 and not any(w.kind == "z3950" for w in wanted):
        raise HubError("--z3950-workers needs the Z39.50 target: add --z3950 HOST:PORT")
    store = app.store
    registries = app.registries
    secret = load_secret(create=False) if any(w.kind == "sip2" for w in wanted) else b""

    # Several Z39.50 processes: bind the socket here, once, and fork the workers now, before
    # this process opens anything else (see Workers).
    shared: list[socket.socket] = []
    pool: Workers | None = None
    loads: Loads | None = None
    if workers > 1:
        listen = next(w for w in wanted if w.kind == "z3950")
        try:
            shared = bind_sockets(listen.host, listen.port)
        except OSError as exc:
            raise HubError(f"cannot listen for Z39.50 on {listen.host}:{listen.port}: {exc.strerror}") from None

        async def start_worker(slot: int) -> Running:
            return await start_z3950(Running(), None, slot)

        inherited: list[Any] = []

        def child_setup() -> None:
            # Drop the connections inherited from the main process without closing them (they
            # are its); never let them be garbage-collected either. Fresh ones open on demand.
            inherited.append(store.engine.pool)
            store.engine.dispose(close=False)

        store.engine.dispose()  # nothing open to inherit at first
        loads = Loads(workers)  # each process's connections, so that they share them out
        pool = Workers(workers - 1, start_worker, keep_fds=[s.fileno() for s in shared],
                       child_setup=child_setup, on_exit=lambda slot: loads.set(slot, -1),
                       name="z3950 worker")

    async def start_z3950(running: Running, listen: Listen | None, slot: int = 0) -> Running:
        from ..frontends.z3950_target import make_target

        target = make_target(store, charset=z3950_charset)
        if shared:  # accept on every address, balancing with the other processes
            listener = SharedListener(shared, target.protocol, loads, slot)
            listener.start()
            running.closers.append(listener.close)
            port = listener.port
        else:
            assert listen is not None
            try:
                await target.start(listen.host, listen.port)
            except OSError as exc:
                await running.close()
                raise HubError(f"cannot listen for Z39.50 on {listen.host}:{listen.port}: {exc.strerror}") from None
            running.closers.append(target.close)
            port = target.port
        if listen is not None:
            running.bound.append(Listen("z3950", listen.host, port))
        return running

    async def start() -> Running:
        running = Running()
        for listen in wanted:
            if listen.kind == "z3950":
                await start_z3950(running, listen)
            if listen.kind == "sip2":
                from protocols.sip2 import Sip2Server

                from ..circulation import Circulation
                from ..frontends.sip2_acs import Sip2Acs
                from ..terminals import Terminals

                circulation = Circulation(store, normalisers=registries.normalisers, secret=secret,
                                          timezone=timezone)
                acs = Sip2Acs(circulation, Terminals(store, registries.normalisers), timezone=timezone,
                              anonymous_library=sip2_anonymous.strip().upper() if sip2_anonymous else None,
                              group_commit=sip2_group_commit)
                server = Sip2Server(acs, acs.session_config(), idle_timeout=sip2_idle_timeout, name="sip2")
                try:
                    await server.start(listen.host, listen.port)
                except OSError as exc:
                    await running.close()
                    raise HubError(f"cannot listen for SIP2 on {listen.host}:{listen.port}: {exc.strerror}") from None
                running.bound.append(Listen("sip2", listen.host, server.port))
                running.closers.append(server.close)
        return running

    def announce(line: str) -> None:
        click.echo(line)
        sys.stdout.flush()

    if pool is not None:
        pool.spawn()
    try:
        asyncio.run(serve_forever(start, announce, pool))
    finally:
        for sock in shared:
            sock.close()


COMMANDS = [serve]
