"""``sip2 status|checkout|checkin|item|patron``: a SIP2 self-check client for IT staff.

Talks to any SIP2 ACS — ours (`ils-bridge serve`) or a township ILS — to check that it answers
and what it says, e.g.::

    ils-bridge sip2 checkout --to 127.0.0.1:6001 --login sc-xt-01 --password … R0001 X0000001
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import click

from protocols.sip2 import (
    CheckinRequest,
    CheckoutRequest,
    CodecConfig,
    ErrorKind,
    ItemInformationRequest,
    Message,
    PatronInformationRequest,
    ScStatusRequest,
    SessionConfig,
    Sip2Client,
    Sip2Error,
    format_date,
)

from ..errors import HubError
from ..serve import parse_listen


def _now() -> str:
    import datetime as dt

    return format_date(dt.datetime.now())


def connection_options(f: Any) -> Any:
    for option in reversed([
        click.option("--to", "address", required=True, metavar="HOST:PORT", help="The SIP2 server."),
        click.option("--login", default=None, help="Terminal login (CN); omit for servers without login."),
        click.option("--password", default="", help="Terminal password (CO)."),
        click.option("--location", default="", help="Location code (CP)."),
        click.option("--encoding", default="utf-8", show_default=True, help="utf-8, gb18030 or cp850."),
        click.option("--timeout", default=10.0, show_default=True),
        click.option("--json", "as_json", is_flag=True, help="Print the response fields as JSON."),
    ]):
        f = option(f)
    return f


def _show(msg: Message, as_json: bool) -> None:
    fixed = msg.fixed_values()
    fields = msg.field_map()
    if as_json:
        click.echo(json.dumps({"code": msg.CODE, "fixed": fixed, "fields": fields}, ensure_ascii=False, indent=2))
        return
    click.echo(f"{msg.CODE} {type(msg).__name__}")
    for name, value in fixed.items():
        if value.strip():
            click.echo(f"  {name}: {value}")
    for code, values in fields.items():
        for value in values:
            click.echo(f"  {code}: {value}")


def _run(address: str, login: str | None, password: str, location: str, encoding: str, timeout: float,
         build: Callable[[], Message], as_json: bool) -> None:
    listen = parse_listen("sip2", address)
    host = "127.0.0.1" if listen.host == "0.0.0.0" else listen.host

    async def go() -> Message:
        client = Sip2Client(host, listen.port, SessionConfig(codec=CodecConfig(encoding=encoding)), timeout=timeout)
        try:
            await client.connect()
        except OSError as exc:
            raise HubError(f"cannot reach a SIP2 server at {host}:{listen.port}: {exc.strerror or exc}") from None
        try:
            if login is not None and not await client.login(login, password, location):
                raise HubError(f"the SIP2 server refused the login {login!r} (94 with ok=0)")
            return await client.request(build())
        finally:
            await client.close()

    try:
        response = asyncio.run(go())
    except TimeoutError:
        raise HubError(f"no answer from {host}:{listen.port} within {timeout:g} s") from None
    except Sip2Error as exc:
        hint = ""
        if exc.kind is ErrorKind.MALFORMED and "not valid" in str(exc):
            hint = f" (is the terminal configured for another encoding than {encoding}? try --encoding)"
        raise HubError(
            f"the answer from {host}:{listen.port} is not usable SIP2: {exc}{hint}; "
            "the server may have carried out the request: check with `sip2 item` or `sip2 patron`"
        ) from None
    except OSError as exc:  # reset or closed half-way (ConnectionError)
        raise HubError(f"the connection to {host}:{listen.port} failed: {exc.strerror or exc}") from None
    _show(response, as_json)


@click.group()
def sip2() -> None:
    """Talk SIP2 to a server, as a self-check machine would (for testing and diagnosis)."""


@sip2.command("status")
@connection_options
def sip2_status(**kw: Any) -> None:
    """SC status (99): is the ACS online, what does it support?"""
    as_json = kw.pop("as_json")
    _run(**kw, build=lambda: ScStatusRequest.create(status_code="0", max_print_width="080", protocol_version="2.00"),
         as_json=as_json)


@sip2.command("checkout")
@connection_options
@click.argument("card")
@click.argument("barcode")
def sip2_checkout(card: str, barcode: str, **kw: Any) -> None:
    """Check out BARCODE to CARD (11)."""
    as_json = kw.pop("as_json")
    _run(**kw, build=lambda: CheckoutRequest.create(sc_renewal_policy="Y", no_block="N", transaction_date=_now(),
                                                    nb_due_date=_now(), AO="", AA=card, AB=barcode), as_json=as_json)


@sip2.command("checkin")
@connection_options
@click.argument("barcode")
def sip2_checkin(barcode: str, **kw: Any) -> None:
    """Check in BARCODE (09); the answer says where the book goes (CV/CT)."""
    as_json = kw.pop("as_json")
    _run(**kw, build=lambda: CheckinRequest.create(no_block="N", transaction_date=_now(), return_date=_now(),
                                                   AP="", AO="", AB=barcode), as_json=as_json)


@sip2.command("item")
@connection_options
@click.argument("barcode")
def sip2_item(barcode: str, **kw: Any) -> None:
    """Item information (17)."""
    as_json = kw.pop("as_json")
    _run(**kw, build=lambda: ItemInformationRequest.create(transaction_date=_now(), AO="", AB=barcode),
         as_json=as_json)


@sip2.command("patron")
@connection_options
@click.argument("card")
@click.option("--pin", default=None, help="Patron password (AD).")
def sip2_patron(card: str, pin: str | None, **kw: Any) -> None:
    """Patron information (63) with the charged items."""
    as_json = kw.pop("as_json")
    _run(**kw, build=lambda: PatronInformationRequest.create(language="019", transaction_date=_now(),
                                                             summary="  Y       ", AO="", AA=card, AD=pin),
         as_json=as_json)


COMMANDS = [sip2]
