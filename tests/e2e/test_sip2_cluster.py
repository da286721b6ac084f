"""通借通还 end to end: `ils-bridge serve --sip2` in its own process, self-check machines of three
libraries talking SIP2 to it (our client and the independent python-sip2 client).

The cluster: the central library CEN and two township branches XT and WZ. A patron of XT
borrows a book of WZ at CEN's machine, returns it at XT's machine (transit to WZ: CV 04, CT WZ),
WZ receives it and it is available again; the same with a hold for pickup at CEN; a floating
collection; an in-transit scan at a third library.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ils_bridge.circulation import Circulation
from ils_bridge.cluster import Cluster
from ils_bridge.store import migrate
from ils_bridge.store.engine import open_store
from ils_bridge.terminals import Terminals
from protocols.sip2 import (
    CheckinRequest,
    CheckoutRequest,
    CodecConfig,
    HoldRequest,
    ItemInformationRequest,
    Message,
    PatronStatusRequest,
    ScStatusRequest,
    SessionConfig,
    Sip2Client,
)
from tests.hub.conftest import SECRET, make_cluster

REPO = Path(__file__).resolve().parents[2]
DATE = "20261125    100000"


@dataclass
class Hub:
    port: int
    db_url: str
    proc: subprocess.Popen[str]
    cluster: Cluster
    circulation: Circulation


def _setup(db_url: str) -> tuple[Cluster, Circulation]:
    store = open_store(db_url)
    migrate.upgrade(store)
    cluster = make_cluster(store)
    cluster.add_library("CEN", name="市图书馆", kind="central")
    cluster.add_library("XT", name="新塍镇分馆")
    cluster.add_library("WZ", name="王江泾镇分馆")
    for lib in ("CEN", "XT", "WZ"):
        cluster.add_location(lib, "流通库")
    cluster.import_items([{"barcode": f"W{n:07d}", "title": t, "location": "流通库"}
                          for n, t in enumerate(["红楼梦", "三国演义", "围城", "活着"], start=1)], library="WZ")
    cluster.import_items([{"barcode": "X0000001", "title": "边城", "location": "流通库"}], library="XT")
    cluster.add_patron("R0001", library="XT", name="张三")
    cluster.add_patron("R0002", library="CEN", name="李四")
    terminals = Terminals(store)
    for lib in ("CEN", "XT", "WZ"):
        terminals.add(f"sc-{lib.lower()}", password="machine-pw", library=lib, allow=["127.0.0.0/8"])
    terminals.add("sc-gbk", password="machine-pw", library="CEN", encoding="gb18030")
    return cluster, Circulation(store, normalisers=cluster.normalisers, secret=SECRET)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    db_url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    cluster, circulation = _setup(db_url)
    env = {**os.environ, "PYTHONPATH": str(REPO), "ILS_BRIDGE_DB": db_url,
           "ILS_BRIDGE_SECRET": SECRET.decode(), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    proc = subprocess.Popen([sys.executable, "-m", "ils_bridge", "serve", "--sip2", "127.0.0.1:0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening: sip2 on 127.0.0.1:" not in line:
        proc.kill()
        pytest.fail(f"serve did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    try:
        yield Hub(int(line.rsplit(":", 1)[1]), db_url, proc, cluster, circulation)
    finally:
        proc.terminate()
        try:
            _out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _out, err = proc.communicate()
        assert "Traceback" not in err, err
        assert "11010519" not in err  # no resident ID in the logs
        cluster.store.dispose()


class Machine:
    """One self-check machine: a logged-in SIP2 connection for a library."""

    def __init__(self, port: int, login: str, encoding: str = "utf-8") -> None:
        self.client = Sip2Client("127.0.0.1", port, SessionConfig(codec=CodecConfig(encoding=encoding)), timeout=10)
        self.login_id = login

    async def __aenter__(self) -> Machine:
        await self.client.connect()
        assert await self.client.login(self.login_id, "machine-pw", "")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()

    async def checkout(self, card: str, barcode: str) -> Message:
        return await self.client.request(CheckoutRequest.create(
            sc_renewal_policy="Y", no_block="N", transaction_date=DATE, nb_due_date=DATE, AO="", AA=card, AB=barcode))

    async def checkin(self, barcode: str) -> Message:
        return await self.client.request(CheckinRequest.create(
            no_block="N", transaction_date=DATE, return_date=DATE, AP="", AO="", AB=barcode))

    async def item(self, barcode: str) -> Message:
        return await self.client.request(ItemInformationRequest.create(transaction_date=DATE, AO="", AB=barcode))

    async def hold(self, card: str, barcode: str, pickup: str) -> Message:
        return await self.client.request(HoldRequest.create(
            hold_mode="+", transaction_date=DATE, BS=pickup, AO="", AA=card, AB=barcode))


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_borrow_anywhere_return_anywhere(hub: Hub) -> None:
    async def scenario() -> None:
        async with Machine(hub.port, "sc-cen") as cen, Machine(hub.port, "sc-xt") as xt, \
                Machine(hub.port, "sc-wz") as wz:
            status = await cen.client.request(ScStatusRequest.create(status_code="0", max_print_width="080",
                                                                     protocol_version="2.00"))
            assert status.online_status == "Y" and status.get("AO") == "CEN"  # type: ignore[attr-defined]
            out = await cen.checkout("r0001", "Ｗ００００００１")  # full-width, lowercase: normalised
            assert out.ok == "1", out.screen_messages  # type: ignore[attr-defined]
            assert out.get("AJ") == "红楼梦" and out.get("AH", "").strip()
            assert "借" in (out.get("AF") or "")
            back = await xt.checkin("W0000001")
            assert back.ok == "1" and back.alert == "Y"  # type: ignore[attr-defined]
            assert (back.get("CV"), back.get("CT")) == ("04", "WZ"), back.screen_messages
            assert "王江泾" in (back.get("AF") or "") or "WZ" in (back.get("AF") or "")
            info = await cen.item("W0000001")
            assert info.circulation_status == "10"  # type: ignore[attr-defined]  # in transit
            home = await wz.checkin("W0000001")
            assert home.ok == "1" and home.get("CV") in (None, "", "00")
            info = await cen.item("W0000001")
            assert info.circulation_status == "03"  # type: ignore[attr-defined]  # available again
    run(scenario())
    with hub.cluster.store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT type, library_code, item_home_code, patron_home_code, terminal FROM events "
            "WHERE type IN ('checkout', 'checkin') ORDER BY id").all()
    assert rows[0] == ("checkout", "CEN", "WZ", "XT", "sc-cen")
    assert rows[1][:4] == ("checkin", "XT", "WZ", "XT") and rows[1][4] == "sc-xt"


def test_hold_for_pickup_at_a_third_library(hub: Hub) -> None:
    async def scenario() -> None:
        async with Machine(hub.port, "sc-cen") as cen, Machine(hub.port, "sc-xt") as xt:
            assert (await xt.checkout("R0001", "W0000002")).ok == "1"  # type: ignore[attr-defined]
            placed = await cen.hold("R0002", "W0000002", "CEN")
            assert placed.ok == "1", placed.screen_messages  # type: ignore[attr-defined]
            back = await xt.checkin("W0000002")
            assert (back.get("CV"), back.get("CT")) == ("02", "CEN"), back.screen_messages
            arrived = await cen.checkin("W0000002")
            assert arrived.get("CV") == "01", arrived.screen_messages
            refused = await cen.checkout("R0001", "W0000002")  # on the shelf for someone else
            assert refused.ok == "0" and refused.get("AF")  # type: ignore[attr-defined]
            taken = await cen.checkout("R0002", "W0000002")
            assert taken.ok == "1", taken.screen_messages  # type: ignore[attr-defined]
    run(scenario())


def test_floating_collection_and_third_library_scan(hub: Hub) -> None:
    # WZ's books float within the 运河 group (XT and WZ); CEN is not in it.
    hub.circulation.set_policy("XT", return_policy="float", float_group="运河")
    hub.circulation.set_policy("WZ", return_policy="float", float_group="运河")

    async def scenario() -> None:
        async with Machine(hub.port, "sc-cen") as cen, Machine(hub.port, "sc-xt") as xt, \
                Machine(hub.port, "sc-wz") as wz:
            assert (await cen.checkout("R0001", "W0000003")).ok == "1"  # type: ignore[attr-defined]
            floated = await xt.checkin("W0000003")  # XT floats with WZ: it stays at XT
            assert floated.ok == "1" and floated.get("CV") in (None, "", "00") and floated.alert == "N"  # type: ignore[attr-defined]
            assert (await cen.item("W0000003")).get("AQ", "").startswith("XT")
            # An item in transit to XT, scanned at WZ on the way: stays in transit, re-routed.
            assert (await wz.checkout("R0002", "X0000001")).ok == "1"  # type: ignore[attr-defined]
            sent = await cen.checkin("X0000001")  # CEN does not float: send home to XT
            assert (sent.get("CV"), sent.get("CT")) == ("04", "XT")
            again = await cen.checkin("X0000001")  # a double scan is ignored
            assert (again.ok, again.get("CT")) == ("1", "XT")  # type: ignore[attr-defined]
            via = await wz.checkin("X0000001")
            assert (via.get("CV"), via.get("CT")) == ("04", "XT"), via.screen_messages
            assert (await cen.item("X0000001")).circulation_status == "10"  # type: ignore[attr-defined]
    run(scenario())


def test_polite_refusals(hub: Hub) -> None:
    async def scenario() -> None:
        async with Machine(hub.port, "sc-cen") as cen:
            for card, barcode in (("NOBODY", "W0000004"), ("R0001", "NO-SUCH"), ("R0001", "9787020002207")):
                out = await cen.checkout(card, barcode)
                assert out.ok == "0" and out.get("AF"), (card, barcode)  # type: ignore[attr-defined]
            st = await cen.client.request(PatronStatusRequest.create(language="019", transaction_date=DATE,
                                                                     AO="", AA="NOBODY", AC="", AD=""))
            assert st.get("BL") == "N"
            unknown = await cen.checkin("NO-SUCH")
            assert unknown.ok == "0" and unknown.get("AF")  # type: ignore[attr-defined]
    run(scenario())


def test_gb18030_terminal_gets_chinese_screen_messages(hub: Hub) -> None:
    async def scenario() -> None:
        async with Machine(hub.port, "sc-gbk", encoding="gb18030") as m:
            out = await m.checkout("R0002", "W0000004")
            assert out.ok == "1" and out.get("AJ") == "活着"  # type: ignore[attr-defined]
            assert "借" in (out.get("AF") or "")
    run(scenario())


def test_wrong_password_and_unregistered_address(hub: Hub) -> None:
    async def scenario() -> tuple[bool, bool]:
        bad = Sip2Client("127.0.0.1", hub.port, timeout=10)
        await bad.connect()
        refused = await bad.login("sc-cen", "wrong", "")
        await bad.close()
        return refused, True

    refused, _ = run(scenario())
    assert refused is False


# -- the independent python-sip2 client drives a whole session ---------------------------------
Sip2Module = pytest.importorskip("Sip2.sip2")


@pytest.mark.interop
def test_python_sip2_client_full_session(hub: Hub) -> None:
    # A loan from two weeks ago, so that renewing it extends the due date.
    import datetime as dt

    from ils_bridge.circulation import Ctx

    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=14)
    assert hub.circulation.checkout(Ctx("CEN", now=past), "R0002", "X0000001").ok
    client = Sip2Module.Sip2()
    client.hostName, client.hostPort = "127.0.0.1", hub.port
    client.tlsEnable = False
    client.socketTimeout = 10
    client.log = logging.getLogger("python-sip2")
    client.institutionId, client.scLocation = "CEN", "CEN"
    client.connect()
    try:
        login = client.sip_login_response(client.get_response(client.sip_login_request("sc-cen", "machine-pw")))
        assert login["fixed"]["Ok"] == "1"
        status = client.sip_sc_status_response(client.get_response(client.sip_sc_status_request()))
        assert status["fixed"]["OnlineStatus"] == "Y"
        client.patron, client.patronpwd = "R0002", ""
        info = client.sip_patron_information_response(
            client.get_response(client.sip_patron_information_request("charged")))
        assert info["variable"]["AE"] == ["李四"]
        co = client.sip_checkout_response(client.get_response(client.sip_checkout_request("W0000004")))
        assert co["fixed"]["Ok"] == "1" and co["variable"]["AJ"] == ["活着"]
        info = client.sip_patron_information_response(
            client.get_response(client.sip_patron_information_request("charged")))
        assert sorted(info["variable"].get("AU")) == ["W0000004", "X0000001"]
        rn = client.sip_renew_response(client.get_response(client.sip_renew_request(itemIdentifier="X0000001")))
        assert rn["fixed"]["Ok"] == "1", rn["variable"].get("AF")
        too_soon = client.sip_renew_response(client.get_response(client.sip_renew_request(itemIdentifier="W0000004")))
        assert too_soon["fixed"]["Ok"] == "0" and too_soon["variable"]["AF"]
        ci = client.sip_checkin_response(client.get_response(client.sip_checkin_request("W0000004")))
        assert ci["fixed"]["Ok"] == "1" and ci["variable"]["CV"] == ["04"] and ci["variable"]["CT"] == ["WZ"]
    finally:
        client.disconnect()


def test_garbage_gets_protocol_answers_and_the_hub_keeps_serving(hub: Hub) -> None:
    import socket

    def exchange(payload: bytes, read: bool = True) -> bytes:
        with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as s:
            s.sendall(payload)
            if not read:
                return b""
            data = b""
            try:
                while not data.endswith(b"\r"):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except TimeoutError:
                pass
            return data

    # A bad checksum is answered 96 (request resend), before and after login alike.
    assert exchange(b"9900302.00AY1AZ0000\r").startswith(b"96")
    # A TLS ClientHello or an HTTP request is not SIP2: the connection is closed, nothing else.
    assert exchange(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") == b""
    assert exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") in (b"", b"96\r")
    # A request before login is refused without running anything.
    before_login = exchange(b"11YN20261125    10000020261125    100000AOCEN|AAR0001|ABW0000004|\r")
    assert not before_login.startswith(b"12")
    # ...and the hub still lends books.
    async def scenario() -> None:
        async with Machine(hub.port, "sc-cen") as cen:
            assert (await cen.checkout("R0002", "W0000004")).ok == "1"  # type: ignore[attr-defined]
    run(scenario())


def test_ao_cannot_move_a_terminal_unless_it_is_mobile(hub: Hub) -> None:
    Terminals(hub.cluster.store).add("bookbus", password="machine-pw", library="CEN", mobile=True)

    async def scenario() -> None:
        async with Machine(hub.port, "sc-xt") as xt, Machine(hub.port, "bookbus") as bus:
            fixed = await xt.client.request(CheckoutRequest.create(
                sc_renewal_policy="Y", no_block="N", transaction_date=DATE, nb_due_date=DATE,
                AO="WZ", AA="R0001", AB="W0000001"))
            assert fixed.ok == "1"  # type: ignore[attr-defined]
            roaming = await bus.client.request(CheckinRequest.create(
                no_block="N", transaction_date=DATE, return_date=DATE, AP="WZ", AO="WZ", AB="W0000001"))
            assert roaming.ok == "1" and roaming.get("CV") in (None, "", "00")  # type: ignore[attr-defined]
    run(scenario())
    with hub.cluster.store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT type, library_code, terminal FROM events WHERE type IN ('checkout', 'checkin') ORDER BY id").all()
    # The XT machine lent the book at XT whatever AO said; the book bus returned it at WZ (home).
    assert rows == [("checkout", "XT", "sc-xt"), ("checkin", "WZ", "bookbus")]
