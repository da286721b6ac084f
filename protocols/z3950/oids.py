"""Object identifiers used by Z39.50 (dotted strings, as asn1tools writes them)."""

from __future__ import annotations

__all__ = [
    "BIB1_ATTRIBUTES",
    "BIB1_DIAGNOSTICS",
    "CHARNEG_3",
    "CHARNEG_YAZ_PRIVATE_NAME",
    "GRS1",
    "MARC21",
    "OPAC",
    "RECORD_SYNTAX_NAMES",
    "SUTRS",
    "UCS2",
    "UCS4",
    "UNIMARC",
    "USMARC",
    "UTF8",
    "XML",
    "XML_APPLICATION",
    "syntax_name",
    "syntax_oid",
]

Z3950 = "1.2.840.10003"
BIB1_ATTRIBUTES = f"{Z3950}.3.1"
BIB1_DIAGNOSTICS = f"{Z3950}.4.1"

UNIMARC = f"{Z3950}.5.1"  # also used for CNMARC: no CNMARC OID exists
USMARC = f"{Z3950}.5.10"
MARC21 = USMARC
SUTRS = f"{Z3950}.5.101"
OPAC = f"{Z3950}.5.102"
GRS1 = f"{Z3950}.5.105"
XML = f"{Z3950}.5.109.10"
XML_APPLICATION = f"{Z3950}.5.109.11"

CHARNEG_3 = f"{Z3950}.15.3"
#: YAZ's private "character set by name" form (octet-aligned name such as ``GB2312``).
CHARNEG_YAZ_PRIVATE_NAME = f"{Z3950}.15.1000.81.1"
#: ISO 10646 encoding levels used in charset negotiation.
UTF8 = "1.0.10646.1.0.8"
UCS2 = "1.0.10646.1.0.2"
UCS4 = "1.0.10646.1.0.4"

CQL = f"{Z3950}.16.2"

#: Names as yaz-client's ``format`` command spells them (lower case).
RECORD_SYNTAX_NAMES: dict[str, str] = {
    "unimarc": UNIMARC,
    "cnmarc": UNIMARC,
    "usmarc": USMARC,
    "marc21": USMARC,
    "sutrs": SUTRS,
    "opac": OPAC,
    "grs-1": GRS1,
    "xml": XML,
    "text-xml": XML,
    "application-xml": XML_APPLICATION,
}


def syntax_oid(name_or_oid: str) -> str:
    """A record syntax OID from a name (``usmarc``) or an OID string."""
    key = name_or_oid.strip().lower()
    if key in RECORD_SYNTAX_NAMES:
        return RECORD_SYNTAX_NAMES[key]
    if key and all(part.isdigit() for part in key.split(".")):
        return key
    raise ValueError(f"unknown record syntax {name_or_oid!r}")


def syntax_name(oid: str) -> str:
    """A short name for a record syntax OID (the OID itself when unknown)."""
    for name, value in RECORD_SYNTAX_NAMES.items():
        if value == oid:
            return name
    return oid
