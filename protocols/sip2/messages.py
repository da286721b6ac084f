"""Typed SIP2 messages: one frozen dataclass per message type of the standard.

Fixed-length fields are named ``str`` attributes of exactly their width (ASCII in practice; kept
byte-for-byte as Latin-1 text so that a decoded message re-encodes to the same bytes). Variable
fields are the ``fields`` tuple of ``(code, value)`` pairs in wire order, unknown codes and repeats
included; accessors (:meth:`Message.get`, :meth:`Message.get_all`, properties such as
:attr:`Message.patron_identifier`) read it. The trailer is ``sequence`` (AY) and ``checksummed``
(AZ present); ``leniency`` reports which receive-side tolerances were needed to decode it.

Build messages with the constructor (exact) or :meth:`Message.create` (fields by code, spec
order, empty required fields added, a blank ``transaction_date`` set to now)::

    CheckoutResponse.create(ok="1", AO="CN-440100-ZG", AA=patron, AB=barcode, AJ="红楼梦",
                            AH="20261201    235900", AF=["借书成功"])
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Final, TypeVar

from .dates import BLANK_DATE, format_date, parse_date

__all__ = [
    "MASKED_CODES",
    "MESSAGE_TYPES",
    "PATRON_STATUS_FLAGS",
    "REPEATABLE_CODES",
    "RESPONSE_FOR",
    "SUMMARY_CATEGORIES",
    "SUPPORTED_MESSAGES",
    "AcsStatus",
    "BlockPatronRequest",
    "CheckinRequest",
    "CheckinResponse",
    "CheckoutRequest",
    "CheckoutResponse",
    "EndPatronSessionRequest",
    "EndSessionResponse",
    "FeePaidRequest",
    "FeePaidResponse",
    "HoldRequest",
    "HoldResponse",
    "ItemInformationRequest",
    "ItemInformationResponse",
    "ItemStatusUpdateRequest",
    "ItemStatusUpdateResponse",
    "Leniency",
    "LoginRequest",
    "LoginResponse",
    "Message",
    "PatronEnableRequest",
    "PatronEnableResponse",
    "PatronInformationRequest",
    "PatronInformationResponse",
    "PatronStatusRequest",
    "PatronStatusResponse",
    "RenewAllRequest",
    "RenewAllResponse",
    "RenewRequest",
    "RenewResponse",
    "Request",
    "RequestAcsResend",
    "RequestScResend",
    "Response",
    "ScStatusRequest",
    "mask",
    "patron_status",
    "patron_status_flags",
    "summary_category",
    "supported_messages",
]

REPEATABLE_CODES: Final = frozenset({"AF", "AG", "AS", "AT", "AU", "AV", "BU", "CD", "BM", "BN"})
"""Variable fields the standard allows more than once (one per item or line)."""

MASKED_CODES: Final = frozenset({"AA", "AD", "AC", "CO"})
"""Fields never shown in clear in reprs and logs (patron id and passwords)."""

_M = TypeVar("_M", bound="Message")
#: The fixed-field names of each message class (for ``Message.create``).
_FIXED_NAMES: dict[type, frozenset[str]] = {}


def mask(value: str) -> str:
    """Mask an identifier for logs: keep at most the last 2 characters (``****34``)."""
    if not value:
        return value
    keep = 2 if len(value) > 4 else 0
    return "*" * (len(value) - keep) + value[len(value) - keep :]


class Leniency(enum.Flag):
    """Receive-side tolerances: what a :class:`CodecConfig` accepts and what a decode needed."""

    NONE = 0
    LOWERCASE_HEX = enum.auto()
    """AZ written in lowercase hex digits."""
    SHORT_HEX = enum.auto()
    """AZ with 1-3 hex digits (leading zeros dropped: python-sip2, invenio-sip2)."""
    CODEPOINT_SUM = enum.auto()
    """AZ computed over Unicode code points instead of encoded bytes."""
    SHORT_FIXED = enum.auto()
    """Fixed part short or missing (python-sip2's 65, dp2's 98); padded with blanks."""
    BAD_TEXT = enum.auto()
    """Bytes not valid in the terminal's encoding; replaced with U+FFFD."""
    CHECKSUM = LOWERCASE_HEX | SHORT_HEX | CODEPOINT_SUM
    """Every checksum tolerance."""
    COMMON = LOWERCASE_HEX | SHORT_HEX | CODEPOINT_SUM | SHORT_FIXED
    """What real SCs need; ``BAD_TEXT`` stays off (a mangled barcode must not pass silently)."""


@dataclass(frozen=True, kw_only=True, repr=False)
class Message:
    """Base class of every SIP2 message."""

    CODE: ClassVar[str] = ""
    """The two-digit command code."""
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = ()
    """Fixed fields as (attribute name, width), in wire order."""
    ORDER: ClassVar[tuple[str, ...]] = ()
    """The variable fields of the standard, in the order the standard lists them."""
    REQUIRED: ClassVar[frozenset[str]] = frozenset()
    """Variable fields the standard requires (sent empty rather than left out)."""
    IS_REQUEST: ClassVar[bool] = True

    fields: tuple[tuple[str, str], ...] = ()
    """Variable fields ``(code, value)`` in wire order, unknown codes and repeats included."""
    sequence: int | None = None
    """The AY sequence number (0-9), or None when absent."""
    checksummed: bool = False
    """True if an AZ trailer was present (decode) / is to be added (encode; implied by AY)."""
    leniency: Leniency = field(default=Leniency.NONE, compare=False)
    """Which tolerances decoding needed (``Leniency.NONE`` for a well-formed frame)."""

    def __post_init__(self) -> None:
        if self.sequence is not None and not self.checksummed:
            object.__setattr__(self, "checksummed", True)  # AY implies AZ

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def create(
        cls: type[_M],
        *,
        sequence: int | None = None,
        extra: Iterable[tuple[str, str]] = (),
        **values: str | Sequence[str] | None,
    ) -> _M:
        """Build a message: lowercase keywords are fixed fields, two-letter uppercase keywords
        are variable fields (a list for repeats, ``None`` to leave out).

        Variable fields are put in the standard's order, required ones missing are sent empty,
        ``extra`` pairs (vendor fields) follow in the order given, and a fixed
        ``transaction_date`` left out is set to the current local time.
        """
        fixed: dict[str, Any] = {}
        codes: dict[str, list[str]] = {}
        fixed_names = _FIXED_NAMES.get(cls)
        if fixed_names is None:
            fixed_names = _FIXED_NAMES[cls] = frozenset(name for name, _ in cls.FIXED)
        for key, value in values.items():
            if key in fixed_names:
                if not isinstance(value, str):
                    raise TypeError(f"fixed field {key} must be a str")
                fixed[key] = value
            elif len(key) == 2 and key.isupper():
                if value is None:
                    continue
                codes[key] = [value] if isinstance(value, str) else list(value)
            else:
                raise TypeError(f"{cls.__name__} has no field {key!r}")
        if "transaction_date" in fixed_names and "transaction_date" not in fixed:
            fixed["transaction_date"] = format_date(datetime.now())
        pairs: list[tuple[str, str]] = []
        for code in cls.ORDER:
            if code in codes:
                pairs.extend((code, v) for v in codes.pop(code))
            elif code in cls.REQUIRED:
                pairs.append((code, ""))
        for code, vals in codes.items():
            pairs.extend((code, v) for v in vals)
        pairs.extend(extra)
        return cls(fields=tuple(pairs), sequence=sequence, **fixed)

    def replace(self: _M, **changes: Any) -> _M:
        """A copy with some attributes changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def _with_trailer(self: _M, sequence: int | None, checksummed: bool) -> _M:
        """``replace(sequence=sequence, checksummed=checksummed)`` without passing every field
        through ``__init__`` again (the session's hot path; every field is an init field)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        object.__setattr__(new, "sequence", sequence)
        object.__setattr__(new, "checksummed", checksummed)
        new.__post_init__()
        return new

    def with_field(self: _M, code: str, value: str | None) -> _M:
        """A copy where the first ``code`` field is set to ``value`` (appended if absent,
        removed with ``None``)."""
        out: list[tuple[str, str]] = []
        done = False
        for c, v in self.fields:
            if c == code and not done:
                done = True
                if value is not None:
                    out.append((c, value))
            else:
                out.append((c, v))
        if not done and value is not None:
            out.append((code, value))
        return dataclasses.replace(self, fields=tuple(out))

    # -- reading ------------------------------------------------------------------------------
    def get(self, code: str, default: str | None = None) -> str | None:
        """The first value of variable field ``code`` (first wins for repeats), or ``default``."""
        for c, v in self.fields:
            if c == code:
                return v
        return default

    def get_all(self, code: str) -> tuple[str, ...]:
        """Every value of variable field ``code``, in wire order."""
        return tuple(v for c, v in self.fields if c == code)

    def fixed_values(self) -> dict[str, str]:
        """The fixed fields as a name → value dict, in wire order."""
        return {name: getattr(self, name) for name, _ in self.FIXED}

    def field_map(self) -> dict[str, list[str]]:
        """Variable fields grouped by code (the python-sip2 shape)."""
        out: dict[str, list[str]] = {}
        for c, v in self.fields:
            out.setdefault(c, []).append(v)
        return out

    @property
    def unknown_fields(self) -> tuple[tuple[str, str], ...]:
        """Fields whose code is not in this message type's part of the standard."""
        known = set(self.ORDER)
        return tuple((c, v) for c, v in self.fields if c not in known)

    @property
    def institution_id(self) -> str | None:
        """AO."""
        return self.get("AO")

    @property
    def patron_identifier(self) -> str | None:
        """AA (mask it before logging: :func:`mask`)."""
        return self.get("AA")

    @property
    def item_identifier(self) -> str | None:
        """AB."""
        return self.get("AB")

    @property
    def terminal_password(self) -> str | None:
        """AC."""
        return self.get("AC")

    @property
    def patron_password(self) -> str | None:
        """AD."""
        return self.get("AD")

    @property
    def personal_name(self) -> str | None:
        """AE."""
        return self.get("AE")

    @property
    def title_identifier(self) -> str | None:
        """AJ."""
        return self.get("AJ")

    @property
    def due_date(self) -> str | None:
        """AH (free text per the standard; :func:`parse_date` it)."""
        return self.get("AH")

    @property
    def screen_messages(self) -> tuple[str, ...]:
        """AF lines."""
        return self.get_all("AF")

    @property
    def print_lines(self) -> tuple[str, ...]:
        """AG lines."""
        return self.get_all("AG")

    @property
    def login_user_id(self) -> str | None:
        """CN."""
        return self.get("CN")

    @property
    def login_password(self) -> str | None:
        """CO."""
        return self.get("CO")

    @property
    def location_code(self) -> str | None:
        """CP."""
        return self.get("CP")

    @property
    def transaction_datetime(self) -> datetime | None:
        """The fixed ``transaction_date`` parsed leniently (None if absent or not a date)."""
        value = getattr(self, "transaction_date", None)
        return parse_date(value) if isinstance(value, str) else None

    def is_yes(self, name: str) -> bool:
        """True if fixed field ``name`` is ``Y`` or ``1`` (flags such as ``ok``, ``renewal_ok``)."""
        return getattr(self, name, "") in ("Y", "1")

    def __repr__(self) -> str:
        fixed = ", ".join(f"{k}={v!r}" for k, v in self.fixed_values().items())
        shown = ", ".join(f"{c}={mask(v) if c in MASKED_CODES else v!r}" for c, v in self.fields)
        parts = [p for p in (fixed, f"fields=[{shown}]") if p]
        if self.sequence is not None:
            parts.append(f"sequence={self.sequence}")
        if self.leniency:
            parts.append(f"leniency={self.leniency}")
        return f"{type(self).__name__}({', '.join(parts)})"


@dataclass(frozen=True, kw_only=True, repr=False)
class Request(Message):
    """A message from the SC (self-check) to the ACS (library system)."""

    IS_REQUEST: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, repr=False)
class Response(Message):
    """A message from the ACS to the SC."""

    IS_REQUEST: ClassVar[bool] = False


@dataclass(frozen=True, kw_only=True, repr=False)
class LoginRequest(Request):
    """Login (93): the SC logs in to the ACS."""

    CODE: ClassVar[str] = "93"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (("uid_algorithm", 1), ("pwd_algorithm", 1))
    ORDER: ClassVar[tuple[str, ...]] = ("CN", "CO", "CP")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"CN", "CO"})

    uid_algorithm: str = "0"
    pwd_algorithm: str = "0"


@dataclass(frozen=True, kw_only=True, repr=False)
class ScStatusRequest(Request):
    """SC Status (99): the SC reports its status; answered by 98."""

    CODE: ClassVar[str] = "99"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("status_code", 1),
        ("max_print_width", 3),
        ("protocol_version", 4),
    )
    ORDER: ClassVar[tuple[str, ...]] = ()
    REQUIRED: ClassVar[frozenset[str]] = frozenset()

    status_code: str = "0"
    max_print_width: str = "080"
    protocol_version: str = "2.00"


@dataclass(frozen=True, kw_only=True, repr=False)
class RequestAcsResend(Request):
    """Request ACS Resend (97): the SC asks for the last response again."""

    CODE: ClassVar[str] = "97"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = ()
    ORDER: ClassVar[tuple[str, ...]] = ()
    REQUIRED: ClassVar[frozenset[str]] = frozenset()


@dataclass(frozen=True, kw_only=True, repr=False)
class PatronStatusRequest(Request):
    """Patron Status Request (23)."""

    CODE: ClassVar[str] = "23"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (("language", 3), ("transaction_date", 18))
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AA", "AC", "AD")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA", "AC", "AD"})

    language: str = "000"
    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class PatronInformationRequest(Request):
    """Patron Information (63)."""

    CODE: ClassVar[str] = "63"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("language", 3),
        ("transaction_date", 18),
        ("summary", 10),
    )
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AA", "AC", "AD", "BP", "BQ")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA"})

    language: str = "000"
    transaction_date: str = BLANK_DATE
    summary: str = " " * 10


@dataclass(frozen=True, kw_only=True, repr=False)
class CheckoutRequest(Request):
    """Checkout (11)."""

    CODE: ClassVar[str] = "11"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("sc_renewal_policy", 1),
        ("no_block", 1),
        ("transaction_date", 18),
        ("nb_due_date", 18),
    )
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AA", "AB", "AC", "CH", "AD", "BO", "BI")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA", "AB", "AC"})

    sc_renewal_policy: str = "N"
    no_block: str = "N"
    transaction_date: str = BLANK_DATE
    nb_due_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class CheckinRequest(Request):
    """Checkin (09)."""

    CODE: ClassVar[str] = "09"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("no_block", 1),
        ("transaction_date", 18),
        ("return_date", 18),
    )
    ORDER: ClassVar[tuple[str, ...]] = ("AP", "AO", "AB", "AC", "CH", "BI")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AP", "AO", "AB", "AC"})

    no_block: str = "N"
    transaction_date: str = BLANK_DATE
    return_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class RenewRequest(Request):
    """Renew (29)."""

    CODE: ClassVar[str] = "29"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("third_party_allowed", 1),
        ("no_block", 1),
        ("transaction_date", 18),
        ("nb_due_date", 18),
    )
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AA", "AD", "AB", "AJ", "AC", "CH", "BO")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA"})

    third_party_allowed: str = "N"
    no_block: str = "N"
    transaction_date: str = BLANK_DATE
    nb_due_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class RenewAllRequest(Request):
    """Renew All (65)."""

    CODE: ClassVar[str] = "65"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (("transaction_date", 18),)
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AA", "AD", "AC", "BO")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA"})

    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class ItemInformationRequest(Request):
    """Item Information (17)."""

    CODE: ClassVar[str] = "17"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (("transaction_date", 18),)
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AB", "AC")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AB"})

    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class ItemStatusUpdateRequest(Request):
    """Item Status Update (19)."""

    CODE: ClassVar[str] = "19"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (("transaction_date", 18),)
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AB", "AC", "CH")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AB", "CH"})

    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class EndPatronSessionRequest(Request):
    """End Patron Session (35)."""

    CODE: ClassVar[str] = "35"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (("transaction_date", 18),)
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AA", "AC", "AD")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA"})

    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class FeePaidRequest(Request):
    """Fee Paid (37)."""

    CODE: ClassVar[str] = "37"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("transaction_date", 18),
        ("fee_type", 2),
        ("payment_type", 2),
        ("currency_type", 3),
    )
    ORDER: ClassVar[tuple[str, ...]] = ("BV", "AO", "AA", "AC", "AD", "CG", "BK")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"BV", "AO", "AA"})

    transaction_date: str = BLANK_DATE
    fee_type: str = "01"
    payment_type: str = "00"
    currency_type: str = "CNY"


@dataclass(frozen=True, kw_only=True, repr=False)
class HoldRequest(Request):
    """Hold (15): hold_mode is '+' add, '-' delete, '*' modify."""

    CODE: ClassVar[str] = "15"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (("hold_mode", 1), ("transaction_date", 18))
    ORDER: ClassVar[tuple[str, ...]] = ("BW", "BS", "BY", "AO", "AA", "AD", "AB", "AJ", "AC", "BO")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA"})

    hold_mode: str = "+"
    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class PatronEnableRequest(Request):
    """Patron Enable (25)."""

    CODE: ClassVar[str] = "25"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (("transaction_date", 18),)
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AA", "AC", "AD")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA"})

    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class BlockPatronRequest(Request):
    """Block Patron (01); answered by 24."""

    CODE: ClassVar[str] = "01"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (("card_retained", 1), ("transaction_date", 18))
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AL", "AA", "AC")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AL", "AA", "AC"})

    card_retained: str = "N"
    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class LoginResponse(Response):
    """Login Response (94): ok is '1' or '0'."""

    CODE: ClassVar[str] = "94"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (("ok", 1),)
    ORDER: ClassVar[tuple[str, ...]] = ("AF", "AG")
    REQUIRED: ClassVar[frozenset[str]] = frozenset()

    ok: str = "0"


@dataclass(frozen=True, kw_only=True, repr=False)
class AcsStatus(Response):
    """ACS Status (98)."""

    CODE: ClassVar[str] = "98"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("online_status", 1),
        ("checkin_ok", 1),
        ("checkout_ok", 1),
        ("acs_renewal_policy", 1),
        ("status_update_ok", 1),
        ("offline_ok", 1),
        ("timeout_period", 3),
        ("retries_allowed", 3),
        ("date_time_sync", 18),
        ("protocol_version", 4),
    )
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AM", "BX", "AN", "AF", "AG")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "BX"})

    online_status: str = "Y"
    checkin_ok: str = "Y"
    checkout_ok: str = "Y"
    acs_renewal_policy: str = "Y"
    status_update_ok: str = "N"
    offline_ok: str = "N"
    timeout_period: str = "999"
    retries_allowed: str = "999"
    date_time_sync: str = BLANK_DATE
    protocol_version: str = "2.00"


@dataclass(frozen=True, kw_only=True, repr=False)
class RequestScResend(Response):
    """Request SC Resend (96): the ACS asks the SC to resend (bad checksum)."""

    CODE: ClassVar[str] = "96"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = ()
    ORDER: ClassVar[tuple[str, ...]] = ()
    REQUIRED: ClassVar[frozenset[str]] = frozenset()


@dataclass(frozen=True, kw_only=True, repr=False)
class PatronStatusResponse(Response):
    """Patron Status Response (24)."""

    CODE: ClassVar[str] = "24"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("patron_status", 14),
        ("language", 3),
        ("transaction_date", 18),
    )
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AA", "AE", "BL", "CQ", "BH", "BV", "AF", "AG")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA", "AE"})

    patron_status: str = " " * 14
    language: str = "000"
    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class PatronInformationResponse(Response):
    """Patron Information Response (64)."""

    CODE: ClassVar[str] = "64"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("patron_status", 14),
        ("language", 3),
        ("transaction_date", 18),
        ("hold_items_count", 4),
        ("overdue_items_count", 4),
        ("charged_items_count", 4),
        ("fine_items_count", 4),
        ("recall_items_count", 4),
        ("unavailable_holds_count", 4),
    )
    ORDER: ClassVar[tuple[str, ...]] = (
        "AO",
        "AA",
        "AE",
        "BZ",
        "CA",
        "CB",
        "BL",
        "CQ",
        "BH",
        "BV",
        "CC",
        "AS",
        "AT",
        "AU",
        "AV",
        "BU",
        "CD",
        "BD",
        "BE",
        "BF",
        "AF",
        "AG",
    )
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA", "AE"})

    patron_status: str = " " * 14
    language: str = "000"
    transaction_date: str = BLANK_DATE
    hold_items_count: str = "0000"
    overdue_items_count: str = "0000"
    charged_items_count: str = "0000"
    fine_items_count: str = "0000"
    recall_items_count: str = "0000"
    unavailable_holds_count: str = "0000"


@dataclass(frozen=True, kw_only=True, repr=False)
class CheckoutResponse(Response):
    """Checkout Response (12)."""

    CODE: ClassVar[str] = "12"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("ok", 1),
        ("renewal_ok", 1),
        ("magnetic_media", 1),
        ("desensitize", 1),
        ("transaction_date", 18),
    )
    ORDER: ClassVar[tuple[str, ...]] = (
        "AO",
        "AA",
        "AB",
        "AJ",
        "AH",
        "BT",
        "CI",
        "BH",
        "BV",
        "CK",
        "CH",
        "BK",
        "AF",
        "AG",
    )
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA", "AB", "AJ", "AH"})

    ok: str = "0"
    renewal_ok: str = "N"
    magnetic_media: str = "N"
    desensitize: str = "N"
    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class CheckinResponse(Response):
    """Checkin Response (10); 3M extension fields CR CS CT CV CY DA are kept in order."""

    CODE: ClassVar[str] = "10"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("ok", 1),
        ("resensitize", 1),
        ("magnetic_media", 1),
        ("alert", 1),
        ("transaction_date", 18),
    )
    ORDER: ClassVar[tuple[str, ...]] = (
        "AO",
        "AB",
        "AQ",
        "AJ",
        "CL",
        "AA",
        "CK",
        "CH",
        "CR",
        "CS",
        "CT",
        "CV",
        "CY",
        "DA",
        "AF",
        "AG",
    )
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AB", "AQ"})

    ok: str = "0"
    resensitize: str = "N"
    magnetic_media: str = "N"
    alert: str = "N"
    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class RenewResponse(Response):
    """Renew Response (30)."""

    CODE: ClassVar[str] = "30"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("ok", 1),
        ("renewal_ok", 1),
        ("magnetic_media", 1),
        ("desensitize", 1),
        ("transaction_date", 18),
    )
    ORDER: ClassVar[tuple[str, ...]] = (
        "AO",
        "AA",
        "AB",
        "AJ",
        "AH",
        "BT",
        "CI",
        "BH",
        "BV",
        "CK",
        "CH",
        "BK",
        "AF",
        "AG",
    )
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA", "AB", "AJ", "AH"})

    ok: str = "0"
    renewal_ok: str = "N"
    magnetic_media: str = "N"
    desensitize: str = "N"
    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class RenewAllResponse(Response):
    """Renew All Response (66)."""

    CODE: ClassVar[str] = "66"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("ok", 1),
        ("renewed_count", 4),
        ("unrenewed_count", 4),
        ("transaction_date", 18),
    )
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "BM", "BN", "AF", "AG")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO"})

    ok: str = "0"
    renewed_count: str = "0000"
    unrenewed_count: str = "0000"
    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class ItemInformationResponse(Response):
    """Item Information Response (18)."""

    CODE: ClassVar[str] = "18"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("circulation_status", 2),
        ("security_marker", 2),
        ("fee_type", 2),
        ("transaction_date", 18),
    )
    ORDER: ClassVar[tuple[str, ...]] = (
        "CF",
        "AH",
        "CJ",
        "CM",
        "AB",
        "AJ",
        "BG",
        "BH",
        "BV",
        "CK",
        "AQ",
        "AP",
        "CH",
        "AF",
        "AG",
    )
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AB", "AJ"})

    circulation_status: str = "01"
    security_marker: str = "00"
    fee_type: str = "01"
    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class ItemStatusUpdateResponse(Response):
    """Item Status Update Response (20)."""

    CODE: ClassVar[str] = "20"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("item_properties_ok", 1),
        ("transaction_date", 18),
    )
    ORDER: ClassVar[tuple[str, ...]] = ("AB", "AJ", "CH", "AF", "AG")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AB"})

    item_properties_ok: str = "0"
    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class EndSessionResponse(Response):
    """End Session Response (36)."""

    CODE: ClassVar[str] = "36"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (("end_session", 1), ("transaction_date", 18))
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AA", "AF", "AG")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA"})

    end_session: str = "Y"
    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class FeePaidResponse(Response):
    """Fee Paid Response (38)."""

    CODE: ClassVar[str] = "38"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("payment_accepted", 1),
        ("transaction_date", 18),
    )
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AA", "BK", "AF", "AG")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA"})

    payment_accepted: str = "N"
    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class HoldResponse(Response):
    """Hold Response (16)."""

    CODE: ClassVar[str] = "16"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("ok", 1),
        ("available", 1),
        ("transaction_date", 18),
    )
    ORDER: ClassVar[tuple[str, ...]] = ("BW", "BR", "BS", "AO", "AA", "AB", "AJ", "AF", "AG")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA"})

    ok: str = "0"
    available: str = "N"
    transaction_date: str = BLANK_DATE


@dataclass(frozen=True, kw_only=True, repr=False)
class PatronEnableResponse(Response):
    """Patron Enable Response (26)."""

    CODE: ClassVar[str] = "26"
    FIXED: ClassVar[tuple[tuple[str, int], ...]] = (
        ("patron_status", 14),
        ("language", 3),
        ("transaction_date", 18),
    )
    ORDER: ClassVar[tuple[str, ...]] = ("AO", "AA", "AE", "BL", "CQ", "AF", "AG")
    REQUIRED: ClassVar[frozenset[str]] = frozenset({"AO", "AA", "AE"})

    patron_status: str = " " * 14
    language: str = "000"
    transaction_date: str = BLANK_DATE


MESSAGE_TYPES: Final[dict[str, type[Message]]] = {
    "93": LoginRequest,
    "99": ScStatusRequest,
    "97": RequestAcsResend,
    "23": PatronStatusRequest,
    "63": PatronInformationRequest,
    "11": CheckoutRequest,
    "09": CheckinRequest,
    "29": RenewRequest,
    "65": RenewAllRequest,
    "17": ItemInformationRequest,
    "19": ItemStatusUpdateRequest,
    "35": EndPatronSessionRequest,
    "37": FeePaidRequest,
    "15": HoldRequest,
    "25": PatronEnableRequest,
    "01": BlockPatronRequest,
    "94": LoginResponse,
    "98": AcsStatus,
    "96": RequestScResend,
    "24": PatronStatusResponse,
    "64": PatronInformationResponse,
    "12": CheckoutResponse,
    "10": CheckinResponse,
    "30": RenewResponse,
    "66": RenewAllResponse,
    "18": ItemInformationResponse,
    "20": ItemStatusUpdateResponse,
    "36": EndSessionResponse,
    "38": FeePaidResponse,
    "16": HoldResponse,
    "26": PatronEnableResponse,
}
"""Every standard message class by its two-digit command code."""

RESPONSE_FOR: Final[dict[str, str]] = {
    "93": "94",
    "99": "98",
    "23": "24",
    "63": "64",
    "11": "12",
    "09": "10",
    "29": "30",
    "65": "66",
    "17": "18",
    "19": "20",
    "35": "36",
    "37": "38",
    "15": "16",
    "25": "26",
    "01": "24",
}
"""The response code that answers each request code (97 is answered by a resend)."""


PATRON_STATUS_FLAGS: Final = (
    "charge_privileges_denied",
    "renewal_privileges_denied",
    "recall_privileges_denied",
    "hold_privileges_denied",
    "card_reported_lost",
    "too_many_items_charged",
    "too_many_items_overdue",
    "too_many_renewals",
    "too_many_claims_of_items_returned",
    "too_many_items_lost",
    "excessive_outstanding_fines",
    "excessive_outstanding_fees",
    "recall_overdue",
    "too_many_items_billed",
)
"""The 14 positions of ``patron status`` (24, 64, 26), in order."""

SUPPORTED_MESSAGES: Final = (
    "23", "11", "09", "01", "99", "97", "93", "63", "35", "37", "17", "19", "25", "15", "29", "65",
)  # fmt: skip
"""The request codes behind the 16 positions of BX (supported messages) in 98."""

SUMMARY_CATEGORIES: Final = ("hold", "overdue", "charged", "fine", "recall", "unavailable")
"""The first six positions of the 63 ``summary`` (7-10 are undefined; Gossip uses 7 for fees)."""


def patron_status(*flags: str) -> str:
    """The 14-character patron status with ``Y`` at each named flag (see PATRON_STATUS_FLAGS)."""
    unknown = set(flags) - set(PATRON_STATUS_FLAGS)
    if unknown:
        raise ValueError(f"unknown patron status flags: {sorted(unknown)}")
    return "".join("Y" if name in flags else " " for name in PATRON_STATUS_FLAGS)


def patron_status_flags(status: str) -> frozenset[str]:
    """The flags set (``Y``) in a patron status string; lenient about length and case."""
    return frozenset(
        name for name, ch in zip(PATRON_STATUS_FLAGS, status, strict=False) if ch in "Yy"
    )


def supported_messages(codes: Iterable[str]) -> str:
    """The 16-character BX value saying which request codes the ACS supports."""
    wanted = set(codes)
    return "".join("Y" if code in wanted else "N" for code in SUPPORTED_MESSAGES)


def summary_category(summary: str) -> str | None:
    """The category a 63 ``summary`` asks for (first ``Y`` among positions 1-6), or None."""
    for name, ch in zip(SUMMARY_CATEGORIES, summary, strict=False):
        if ch in "Yy":
            return name
    return None
