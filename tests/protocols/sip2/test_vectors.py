"""Verified SIP2 examples from the field (research/sip2.md §1.7) pinned byte for byte."""

from __future__ import annotations

import pytest

from protocols.sip2 import (
    CheckinRequest,
    ErrorKind,
    FeePaidRequest,
    ItemInformationResponse,
    LocalProtocolError,
    LoginRequest,
    LoginResponse,
    PatronInformationRequest,
    ScStatusRequest,
    checksum,
    decode,
    encode,
)

VECTORS = [
    # FOLIO ParserTests (F595 is its deliberately bad twin)
    (b"9300CNuser_id|COpassw0rd|AY1AZF594", LoginRequest),
    # 3M Developer's Guide p. 26
    (b"990 402.00AY1AZFCB4", ScStatusRequest),
    # 3M certification example (dp2 UnitTest.cs)
    (
        b"6300119980723    091905Y         AOInstitutionID|AAPatronID|BP00001|BQ00005|AY1AZEA83",
        PatronInformationRequest,
    ),
    (
        b"09N19980821    085721                  APCertification Terminal Location|"
        b"AOCertification Institute ID|ABCheckInBook|ACTPWord|BIN|AY2AZD6A5",
        CheckinRequest,
    ),
    (
        b"1808000119980723    115615CF00000|ABItemBook|AJTitle For Item Book|CK003|"
        b"AQPermanent Location for ItemBook, Language 1|APCurrent Location ItemBook|"
        b"CHFree-form text with new item property|AY0AZC05B",
        ItemInformationResponse,
    ),
    (
        b"3719980723    0932110401USDBV111.11|AOCertification Institute ID|AAPatronID|"
        b"BKTransactionID|AY2AZE1EF",
        FeePaidRequest,
    ),
    # Evergreen t/0001_checksum.t (Laurentian/OSUL): the title is NFD ("e" + U+0300), and the
    # checksum verifies only as a sum of the UTF-8 bytes.
    (
        "1804020120110630    110249AB30007008503046|AJLe Pie\u0300ge de Bogota|CK001|AQOSUL|"
        "APOSUL|BGOSUL|AH2011-10-28 23:59:59|CSPB LP DAL|AY7AZDCF8".encode(),
        ItemInformationResponse,
    ),
    (b"941AY0AZFDFD", LoginResponse),
    (b"9900802.00AY1AZFCA0", ScStatusRequest),
    (b"9300CNinfo@test.org|COtester|CPselfcheck_location|AY0AZEB8C", LoginRequest),
]


@pytest.mark.parametrize(("frame", "cls"), VECTORS)
def test_vector_decodes_and_reencodes_identically(frame: bytes, cls: type) -> None:
    msg = decode(frame + b"\r")
    assert type(msg) is cls
    assert msg.checksummed and msg.sequence is not None
    assert not msg.leniency
    assert encode(msg) == frame + b"\r"
    az = frame.rindex(b"AZ") + 2
    assert checksum(frame[:az]) == frame[az:].decode()


def test_folio_worked_example() -> None:
    prefix = b"9300CNuser_id|COpassw0rd|AY1AZ"
    assert sum(prefix) == 2668
    assert checksum(prefix) == "F594"
    msg = decode(b"9300CNuser_id|COpassw0rd|AY1AZF594\r")
    assert isinstance(msg, LoginRequest)
    assert (msg.login_user_id, msg.login_password, msg.sequence) == ("user_id", "passw0rd", 1)


def test_bad_twin_is_a_checksum_error() -> None:
    with pytest.raises(LocalProtocolError) as info:
        decode(b"9300CNuser_id|COpassw0rd|AY1AZF595\r")
    assert info.value.kind is ErrorKind.CHECKSUM


def test_nfc_version_of_the_french_vector_does_not_verify() -> None:
    """The research note's copy is NFC ("è"); the real frame is NFD — a documentation quirk."""
    nfc = (
        "1804020120110630    110249AB30007008503046|AJLe Piège de Bogota|CK001|AQOSUL|"
        "APOSUL|BGOSUL|AH2011-10-28 23:59:59|CSPB LP DAL|AY7AZDCF8\r".encode()
    )
    with pytest.raises(LocalProtocolError):
        decode(nfc)


def test_vector_fields() -> None:
    msg = decode(VECTORS[4][0])
    assert isinstance(msg, ItemInformationResponse)
    assert msg.circulation_status == "08"
    assert msg.transaction_date == "19980723    115615"
    assert msg.item_identifier == "ItemBook"
    assert msg.get("CK") == "003"
    checkin = decode(VECTORS[3][0])
    assert isinstance(checkin, CheckinRequest)
    assert checkin.return_date == " " * 18
    assert checkin.get("AP") == "Certification Terminal Location"


def test_resend_constants() -> None:
    from protocols.sip2 import RequestAcsResend, RequestScResend

    assert encode(RequestScResend(checksummed=True)) == b"96AZFEF6\r"
    assert encode(RequestAcsResend(checksummed=True)) == b"97AZFEF5\r"
    assert type(decode(b"96AZFEF6")) is RequestScResend
    assert type(decode(b"97AZFEF5")) is RequestAcsResend
