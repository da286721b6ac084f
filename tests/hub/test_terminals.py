"""Terminals: registration, salted password hashes, source-address rules, disabling."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ils_bridge.cluster import Cluster
from ils_bridge.errors import DuplicateCode, InvalidInput, NotFound
from ils_bridge.passwords import hash_password, verify_password
from ils_bridge.serve import parse_listen
from ils_bridge.store.schema import terminals as terminals_table
from ils_bridge.terminals import Terminals


def test_register_and_authenticate(cluster3: Cluster) -> None:
    t = Terminals(cluster3.store)
    term = t.add("sc-xt-01", password="s3cret-pw", library="xt", encoding="GB18030", allow=["127.0.0.0/8"])
    assert (term.library, term.encoding, term.allowed) == ("XT", "gb18030", ("127.0.0.0/8",))
    ok = t.authenticate("sc-xt-01", "s3cret-pw", "127.0.0.1")
    assert not isinstance(ok, str) and ok.library == "XT"
    assert "wrong password" in str(t.authenticate("sc-xt-01", "nope-nope", "127.0.0.1"))
    assert "may not connect from 192.0.2.7" in str(t.authenticate("sc-xt-01", "s3cret-pw", "192.0.2.7"))
    assert "unknown terminal" in str(t.authenticate("sc-zz", "s3cret-pw", "127.0.0.1"))
    with cluster3.store.read() as conn:
        stored = conn.execute(select(terminals_table.c.password_hash)).scalar_one()
    assert "s3cret-pw" not in stored and stored.startswith("scrypt$")
    t.remove("sc-xt-01")
    assert "disabled" in str(t.authenticate("sc-xt-01", "s3cret-pw", "127.0.0.1"))


def test_refusals(cluster3: Cluster) -> None:
    t = Terminals(cluster3.store)
    t.add("sc1", password="123456", library="XT")
    with pytest.raises(DuplicateCode):
        t.add("sc1", password="123456", library="WZ")
    with pytest.raises(NotFound):
        t.add("sc2", password="123456", library="NOPE")
    for kwargs in ({"password": "123"}, {"password": "123456", "encoding": "latin-9"},
                   {"password": "123456", "allow": ["not-a-net"]}):
        with pytest.raises(InvalidInput):
            t.add("sc3", library="XT", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        t.add("bad|login", password="123456", library="XT")


def test_ipv4_mapped_addresses_match_ipv4_rules(cluster3: Cluster) -> None:
    t = Terminals(cluster3.store)
    term = t.add("sc1", password="123456", library="XT", allow=["127.0.0.1/32"])
    assert term.allows("::ffff:127.0.0.1") and not term.allows(None) and not term.allows("garbage")


def test_password_hashes_are_salted() -> None:
    a, b = hash_password("same", n=2**10), hash_password("same", n=2**10)
    assert a != b and verify_password("same", a) and verify_password("same", b)
    assert not verify_password("other", a) and not verify_password("same", "md5$x") and not verify_password("x", "")


@pytest.mark.parametrize(("text", "host", "port"), [
    ("127.0.0.1:6001", "127.0.0.1", 6001), (":7000", "0.0.0.0", 7000), ("6002", "0.0.0.0", 6002),
    ("127.0.0.1", "127.0.0.1", 6001), ("[::1]:6003", "::1", 6003), ("127.0.0.1:0", "127.0.0.1", 0),
])
def test_parse_listen(text: str, host: str, port: int) -> None:
    listen = parse_listen("sip2", text)
    assert (listen.host, listen.port) == (host, port)


def test_parse_listen_refusals() -> None:
    with pytest.raises(InvalidInput):
        parse_listen("sip2", "127.0.0.1:http")
    with pytest.raises(InvalidInput):
        parse_listen("sip2", "127.0.0.1:70000")
