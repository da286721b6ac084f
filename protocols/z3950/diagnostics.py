"""Bib-1 diagnostic codes we emit, and the diag-1 format for Init diagnostics."""

from __future__ import annotations

from .apdu import ApduError, DefaultDiag, External, default_diag_to_tlv
from .ber import CONTEXT, UNIVERSAL, BerError, Tlv, int_from_content, oid_from_content

__all__ = [
    "BIB1_TEXT",
    "DIAG_1",
    "diag1_external",
    "diagnostics_from_diag1",
    "text",
]

#: The diag-1 diagnostic format (Init ``userInformationField``).
DIAG_1 = "1.2.840.10003.4.2"

PERMANENT_SYSTEM_ERROR = 1
TEMPORARY_SYSTEM_ERROR = 2
PRESENT_OUT_OF_RANGE = 13
SYSTEM_ERROR_PRESENTING = 14
RECORD_TOO_LARGE_FOR_MESSAGE = 16
RECORD_TOO_LARGE = 17
RESULT_SET_EXISTS = 21
ELEMENT_SET_NOT_VALID = 25
RESULT_SET_MISSING = 30
UNSPECIFIED = 100
QUERY_TYPE_UNSUPPORTED = 107
MALFORMED_QUERY = 108
DATABASE_UNAVAILABLE = 109
TOO_MANY_RESULT_SETS = 112
UNSUPPORTED_ATTRIBUTE_TYPE = 113
UNSUPPORTED_USE = 114
UNSUPPORTED_ATTRIBUTE_SET = 121
MALFORMED_TERM = 125
DATABASE_DOES_NOT_EXIST = 235
RECORD_NOT_IN_SYNTAX = 238
RECORD_SYNTAX_UNSUPPORTED = 239
INIT_BAD_USER = 1010
INIT_BAD_PASSWORD = 1011
INIT_MAINTENANCE = 1019

#: Texts of the codes above (from YAZ ``bib1.csv``).
BIB1_TEXT: dict[int, str] = {
    1: "Permanent system error",
    2: "Temporary system error",
    13: "Present request out of range",
    14: "System error in presenting records",
    16: "Record exceeds Preferred-message-size",
    17: "Record exceeds Maximum-record-size",
    21: "Result set exists and replace indicator off",
    25: "Specified element set name not valid for specified database",
    30: "Specified result set does not exist",
    100: "Unspecified error",
    107: "Query type not supported",
    108: "Malformed query",
    109: "Database unavailable",
    112: "Too many result sets created",
    113: "Unsupported attribute type",
    114: "Unsupported Use attribute",
    121: "Unsupported Attribute Set",
    125: "Malformed search term",
    235: "Database does not exist",
    238: "Record not available in requested syntax",
    239: "Record syntax not supported",
    1010: "Init/AC: Bad Userid",
    1011: "Init/AC: Bad Userid and/or Password",
    1019: "Init/AC: System not available due to maintenance",
}


def text(code: int) -> str:
    """Human text for a Bib-1 code (``"Bib-1 diagnostic N"`` when unknown here)."""
    return BIB1_TEXT.get(code, f"Bib-1 diagnostic {code}")


def diag1_external(diags: tuple[DefaultDiag, ...]) -> External:
    """Init diagnostics as an EXTERNAL in diag-1 format (as YAZ GFS sends them)."""
    units = []
    for d in diags:
        inner = default_diag_to_tlv(d, 1, CONTEXT)
        units.append(Tlv(UNIVERSAL, 16, True, b"", (Tlv(CONTEXT, 1, True, b"", (inner,)),)))
    return External(DIAG_1, Tlv(UNIVERSAL, 16, True, b"", tuple(units)))


def diagnostics_from_diag1(ext: External) -> tuple[DefaultDiag, ...]:
    """Default diagnostics inside a diag-1 EXTERNAL (others are skipped)."""
    if ext.direct_reference != DIAG_1 or not isinstance(ext.encoding, Tlv):
        return ()
    out: list[DefaultDiag] = []
    try:
        for unit in ext.encoding.children:
            for part in unit.children:
                if part.key != (CONTEXT, 1) or len(part.children) != 1:
                    continue
                rec = part.children[0]
                if rec.key != (CONTEXT, 1):
                    continue
                fields = {c.key: c for c in rec.children}
                cond = fields.get((UNIVERSAL, 2))
                dset = fields.get((UNIVERSAL, 6))
                info = fields.get((UNIVERSAL, 26)) or fields.get((UNIVERSAL, 27))
                if cond is None or dset is None:
                    continue
                out.append(
                    DefaultDiag(
                        int_from_content(cond.content),
                        None if info is None else info.content.decode("utf-8", "replace"),
                        oid_from_content(dset.content),
                    )
                )
    except BerError as exc:
        raise ApduError(f"bad diag-1 record: {exc}") from exc
    return tuple(out)
