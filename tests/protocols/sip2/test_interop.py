"""Interoperability with independent peers: pysip2 (second codec) and python-sip2 (`Sip2`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.sip2 import (
    MESSAGE_TYPES,
    CodecConfig,
    Message,
    Sip2Server,
    checksum,
    decode,
    encode,
)

from ._acs import DATE, TinyAcs
from ._strategies import value_text

pysip2 = pytest.importorskip("pysip2")
pysip2_models = pytest.importorskip("pysip2.models")

pytestmark = pytest.mark.interop

# Valid fixed values for pysip2's anchored patterns.
FIXED_OK: dict[str, str] = {
    "transaction_date": DATE,
    "nb_due_date": "20261225    235900",
    "return_date": DATE,
    "date_time_sync": DATE,
    "language": "019",
    "summary": "  Y       ",
    "patron_status": " " * 14,
    "ok": "1",
    "renewal_ok": "N",
    "magnetic_media": "U",
    "desensitize": "Y",
    "resensitize": "Y",
    "alert": "N",
    "circulation_status": "03",
    "security_marker": "01",
    "fee_type": "01",
    "payment_type": "00",
    "currency_type": "CNY",
    "item_properties_ok": "1",
    "end_session": "Y",
    "payment_accepted": "Y",
    "available": "N",
    "timeout_period": "050",
    "retries_allowed": "003",
    "protocol_version": "2.00",
    "max_print_width": "080",
    "status_code": "0",
    "hold_mode": "+",
    "card_retained": "N",
    "third_party_allowed": "N",
    "no_block": "N",
    "sc_renewal_policy": "Y",
    "uid_algorithm": "0",
    "pwd_algorithm": "0",
    "renewed_count": "0001",
    "unrenewed_count": "0000",
}
for _n in ("hold", "overdue", "charged", "fine", "recall"):
    FIXED_OK[f"{_n}_items_count"] = "0001"
FIXED_OK["unavailable_holds_count"] = "0000"
for _n in ("online_status", "checkin_ok", "checkout_ok", "acs_renewal_policy"):
    FIXED_OK[_n] = "Y"
FIXED_OK["status_update_ok"] = FIXED_OK["offline_ok"] = "N"

# Typed variable fields with valid values; everything else is free text.
TYPED_OK = {
    "BX": "YYYYYYYYYYYYYYYY", "BL": "Y", "CQ": "N", "BO": "N", "BI": "N", "CI": "N",
    "BH": "CNY", "BY": "2", "BT": "01", "CK": "001", "BW": DATE, "CJ": DATE, "CM": DATE,
    "BZ": "0010", "CA": "0010", "CB": "0010", "CF": "0", "BR": "1", "BV": "1.50", "CC": "9.99",
    "BP": "1", "BQ": "5",
}  # fmt: skip


def _spec(code: str) -> Any:
    return pysip2_models.spec_for_id(code)


def valid_message(cls: type[Message], text: str, repeat: list[str]) -> Message:
    """A message pysip2 accepts: every field of its spec, free text = ``text``."""
    fields: list[tuple[str, str]] = []
    for f in _spec(cls.CODE).fields:
        if f.field_id is None:
            continue
        if f.repeatable:
            fields.extend((f.field_id, v) for v in repeat)
        else:
            fields.append((f.field_id, TYPED_OK.get(f.field_id, text)))
    fixed: dict[str, Any] = {name: FIXED_OK[name] for name, _ in cls.FIXED}
    return cls(fields=tuple(fields), sequence=4, **fixed)


def pysip2_view(model: Any, code: str) -> tuple[list[str], dict[str, list[str]]]:
    fixed, var = [], {}
    for f in _spec(code).fields:
        value = getattr(model, f.name)
        if f.field_id is None:
            fixed.append(value)
        elif f.repeatable:
            if value:
                var[f.field_id] = list(value)
        elif value is not None:
            var[f.field_id] = [value]
    return fixed, var


def our_view(msg: Message) -> tuple[list[str], dict[str, list[str]]]:
    return list(msg.fixed_values().values()), msg.field_map()


CODES = [c for c in MESSAGE_TYPES if c not in ("96", "97")]


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
@given(
    code=st.sampled_from(CODES),
    text=value_text("utf-8", max_size=30).filter(lambda s: s.strip() == s and s),
    repeat=st.lists(value_text("utf-8", max_size=10), max_size=3),
)
def test_pysip2_decodes_our_frames(encoding: str, code: str, text: str, repeat: list[str]) -> None:
    if encoding == "gb18030":
        text = "".join(ch for ch in text if 0x7C not in ch.encode("gb18030")) or "书"
        repeat = ["".join(ch for ch in r if 0x7C not in ch.encode("gb18030")) for r in repeat]
    msg = valid_message(MESSAGE_TYPES[code], text, repeat)
    frame = encode(msg, CodecConfig(encoding=encoding))
    decoded = pysip2.decode_message(frame, encoding=encoding)
    assert decoded.sequence_number == 4
    assert decoded.checksum == frame[-5:-1].decode()
    assert pysip2_view(decoded.message, code) == our_view(msg)
    # ...and back: pysip2's encoding decodes to the same message with our codec
    theirs = pysip2.encode_message(
        decoded.message, sequence_number=4, checksum=True, encoding=encoding
    )
    again = decode(theirs, CodecConfig(encoding=encoding))
    assert our_view(again) == our_view(msg)


def test_control_messages_agree() -> None:
    for frame in (b"96AZFEF6\r", b"97AZFEF5\r"):
        assert type(pysip2.decode_message(frame).message).__name__ in (
            "RequestSCResend",
            "RequestACSResend",
        )
        assert encode(decode(frame)) == frame


# -- python-sip2 ("Sip2") driving our asyncio server --------------------------------------------
Sip2Module = pytest.importorskip("Sip2.sip2")


def our_checksum_ok(raw: str) -> bool:
    body = raw.rstrip("\r\n").encode()
    az = body.rindex(b"AZ") + 2
    return checksum(body[:az]) == body[az:].decode()


def drive_python_sip2(port: int) -> dict[str, Any]:
    client = Sip2Module.Sip2()
    client.hostName, client.hostPort = "127.0.0.1", port
    client.tlsEnable = False  # its default sends a TLS ClientHello first
    client.socketTimeout = 5
    client.log = logging.getLogger("sip2-peer")  # no ./sip2.log file handler
    client.institutionId, client.scLocation = "CN-440100-ZG", "BR01"
    client.connect()
    out: dict[str, Any] = {}
    try:
        login = client.sip_login_response(
            client.get_response(client.sip_login_request("sc01", "secret"))
        )
        out["login"] = login["fixed"]["Ok"]
        status = client.sip_sc_status_response(client.get_response(client.sip_sc_status_request()))
        out["online"] = status["fixed"]["OnlineStatus"]
        out["library"] = status["variable"].get("AM")
        client.patron, client.patronpwd = "0001234", "1234"
        info = client.sip_patron_information_response(
            client.get_response(client.sip_patron_information_request("charged"))
        )
        out["name"] = info["variable"]["AE"]
        out["charged"] = info["variable"].get("AU")
        co = client.sip_checkout_response(
            client.get_response(client.sip_checkout_request("39001000123"))
        )
        out["checkout"] = (co["fixed"]["Ok"], co["variable"]["AJ"], co["variable"].get("AF"))
        out["checkout_ck"] = our_checksum_ok(client.last_response)
        ci = client.sip_checkin_response(
            client.get_response(client.sip_checkin_request("39001000123"))
        )
        out["checkin"] = (ci["fixed"]["Ok"], ci["variable"]["AQ"])
        rn = client.sip_renew_response(
            client.get_response(client.sip_renew_request(itemIdentifier="39001000124"))
        )
        out["renew"] = (rn["fixed"]["Ok"], rn["variable"]["AJ"])
        out["renew_ck"] = our_checksum_ok(client.last_response)
    finally:
        client.disconnect()
    return out


def test_python_sip2_client_against_our_server() -> None:
    acs = TinyAcs()

    async def main() -> dict[str, Any]:
        server = Sip2Server(acs)
        await server.start("127.0.0.1", 0)
        try:
            return await asyncio.wait_for(asyncio.to_thread(drive_python_sip2, server.port), 20)
        finally:
            await server.close()

    out = asyncio.run(main())
    assert out["login"] == "1"
    assert out["online"] == "Y" and out["library"] == ["中心馆"]
    assert out["name"] == ["张三"] and out["charged"] == ["39001000123"]
    assert out["checkout"] == ("1", ["红楼梦"], ["借书成功"]) and out["checkout_ck"]
    assert out["checkin"] == ("1", ["流通库"])
    assert out["renew"] == ("1", ["Dream of the Red Chamber"]) and out["renew_ck"]
    assert [m.CODE for m in acs.calls] == ["93", "99", "63", "11", "09", "29"]
    assert all(m.sequence is not None for m in acs.calls)
