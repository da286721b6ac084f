"""``ils-bridge serve``: run the listeners (SIP2 ACS for self-check machines, Z39.50 target, …)."""

from __future__ import annotations

import asyncio
import os
import sys

import click

from ..errors import HubError
from ..secret import load_secret
from ..serve import DEFAULT_PORTS, Listen, Running, parse_listen, serve_forever
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
@pass_app
def serve(app: App, sip2: str | None, sip2_anonymous: str | None, sip2_idle_timeout: float,
          sip2_group_commit: bool, timezone: str, z3950: str | None, z3950_charset: str) -> None:
    """Run the hub's listeners until interrupted (Ctrl-C or SIGTERM).

    With no listener option every listener starts on its default port on all addresses;
    naming a listener (e.g. --sip2 127.0.0.1:6001) starts only the ones named.
    """
    named = {"sip2": sip2, "z3950": z3950}
    wanted = [parse_listen(kind, text) for kind, text in named.items() if text is not None]
    if not wanted:
        wanted = [Listen(kind, "0.0.0.0", port) for kind, port in DEFAULT_PORTS.items() if kind in named]
    store = app.store
    registries = app.registries
    secret = load_secret(create=False) if any(w.kind == "sip2" for w in wanted) else b""

    async def start() -> Running:
        running = Running()
        for listen in wanted:
            if listen.kind == "z3950":
                from ..frontends.z3950_target import make_target

                target = make_target(store, charset=z3950_charset)
                try:
                    await target.start(listen.host, listen.port)
                except OSError as exc:
                    await running.close()
                    raise HubError(f"cannot listen for Z39.50 on {listen.host}:{listen.port}: {exc.strerror}") from None
                running.bound.append(Listen("z3950", listen.host, target.port))
                running.closers.append(target.close)
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

    asyncio.run(serve_forever(start, announce))


COMMANDS = [serve]
