"""Character-set negotiation, version 3 (OID 1.2.840.10003.15.3), carried in Init otherInfo.

Charsets are named the way Python codecs and YAZ name them (``UTF-8``,
``GB18030``, ``GB2312``, ``ISO-8859-1``).  UTF-8 travels as ISO 10646
``encodingLevel 1.0.10646.1.0.8``; every other name travels in YAZ's private
form: an EXTERNAL with OID 1.2.840.10003.15.1000.81.1 holding the name.

:func:`proposal_info` / :func:`response_info` build the ``OtherInfo`` unit,
:func:`find_charneg` reads it back from an Init PDU's ``other_info``.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import oids
from .apdu import ApduError, External, OtherInfo
from .ber import (
    CONTEXT,
    UNIVERSAL,
    BerError,
    Tlv,
    bool_from_content,
    bool_to_content,
    oid_from_content,
    oid_to_content,
)

__all__ = [
    "CharsetProposal",
    "CharsetResponse",
    "find_charneg",
    "normalise_charset",
    "proposal_info",
    "response_info",
]


def normalise_charset(name: str) -> str:
    """Canonical spelling used for comparison (``utf8`` → ``UTF-8``)."""
    key = name.strip().upper().replace("_", "-")
    if key in ("UTF8", "UTF-8"):
        return "UTF-8"
    return key


@dataclass(frozen=True, slots=True)
class CharsetProposal:
    """Origin's proposal: charset names in order of preference."""

    charsets: tuple[str, ...]
    languages: tuple[str, ...] = ()
    records_in_selected_charsets: bool | None = None
    unparsed: tuple[Tlv, ...] = ()  # ISO 2022 and other choices we do not model


@dataclass(frozen=True, slots=True)
class CharsetResponse:
    """Target's response: the selected charset (``None`` = the ``none`` choice or absent)."""

    charset: str | None
    language: str | None = None
    records_in_selected_charsets: bool | None = None


def _choice_tlv(name: str, number: int | None = None) -> Tlv:
    if normalise_charset(name) == "UTF-8":
        body = (Tlv(CONTEXT, 2, False, oid_to_content(oids.UTF8)),)
        return Tlv(CONTEXT, 2, True, b"", body)
    ext = (
        Tlv(UNIVERSAL, 6, False, oid_to_content(oids.CHARNEG_YAZ_PRIVATE_NAME)),
        Tlv(CONTEXT, 1, False, name.encode("ascii")),
    )
    private = Tlv(CONTEXT, 2, True, b"", ext)  # externallySpecified [2] IMPLICIT EXTERNAL
    return Tlv(CONTEXT, 3, True, b"", (private,))


def _choice_name(t: Tlv) -> str | None:
    """Name of one charset CHOICE, or ``None`` if we cannot name it."""
    if t.key == (CONTEXT, 2) and t.constructed:
        for c in t.children:
            if c.key == (CONTEXT, 2) and not c.constructed:
                oid = oid_from_content(c.content)
                return {oids.UTF8: "UTF-8", oids.UCS2: "UCS-2", oids.UCS4: "UCS-4"}.get(oid, oid)
        return None
    if t.key == (CONTEXT, 3) and t.constructed and len(t.children) == 1:
        private = t.children[0]
        if private.key == (CONTEXT, 2) and private.constructed:
            direct = next((c for c in private.children if c.key == (UNIVERSAL, 6)), None)
            octets = next((c for c in private.children if c.key == (CONTEXT, 1)), None)
            if (
                direct is not None
                and octets is not None
                and not octets.constructed
                and oid_from_content(direct.content) == oids.CHARNEG_YAZ_PRIVATE_NAME
            ):
                return octets.content.decode("ascii", "replace")
    return None


def _wrap(body: Tlv) -> OtherInfo:
    return OtherInfo(external=External(oids.CHARNEG_3, body))


def proposal_info(
    charsets: tuple[str, ...] | list[str],
    records_in_selected_charsets: bool | None = None,
    languages: tuple[str, ...] = (),
) -> OtherInfo:
    """The otherInfo unit proposing ``charsets`` (as yaz-client's ``charset`` command)."""
    parts = [Tlv(CONTEXT, 1, True, b"", tuple(_choice_tlv(c) for c in charsets))]
    if languages:
        parts.append(
            Tlv(
                CONTEXT,
                2,
                True,
                b"",
                tuple(Tlv(UNIVERSAL, 27, False, lang.encode()) for lang in languages),
            )
        )
    if records_in_selected_charsets is not None:
        parts.append(Tlv(CONTEXT, 3, False, bool_to_content(records_in_selected_charsets)))
    return _wrap(Tlv(CONTEXT, 1, True, b"", tuple(parts)))


def response_info(
    charset: str | None,
    records_in_selected_charsets: bool | None = None,
    language: str | None = None,
) -> OtherInfo:
    """The otherInfo unit selecting ``charset`` (``None`` selects the ``none`` choice)."""
    sel = Tlv(CONTEXT, 4, False, b"") if charset is None else _choice_tlv(charset)
    parts = [Tlv(CONTEXT, 1, True, b"", (sel,))]
    if language is not None:
        parts.append(Tlv(CONTEXT, 2, False, language.encode()))
    if records_in_selected_charsets is not None:
        parts.append(Tlv(CONTEXT, 3, False, bool_to_content(records_in_selected_charsets)))
    return _wrap(Tlv(CONTEXT, 2, True, b"", tuple(parts)))


def _parse(body: Tlv) -> CharsetProposal | CharsetResponse:
    if not body.constructed:
        raise ApduError("charset negotiation: expected constructed value")
    fields = {c.key: c for c in body.children}
    rec = fields.get((CONTEXT, 3))
    records = None if rec is None or rec.constructed else bool_from_content(rec.content)
    if body.key == (CONTEXT, 1):
        names: list[str] = []
        unparsed: list[Tlv] = []
        sets = fields.get((CONTEXT, 1))
        for choice in () if sets is None else sets.children:
            name = _choice_name(choice)
            if name is None:
                unparsed.append(choice)
            else:
                names.append(name)
        langs = fields.get((CONTEXT, 2))
        languages = tuple(
            c.content.decode("utf-8", "replace") for c in (() if langs is None else langs.children)
        )
        return CharsetProposal(tuple(names), languages, records, tuple(unparsed))
    if body.key == (CONTEXT, 2):
        selected = fields.get((CONTEXT, 1))
        charset: str | None = None
        if selected is not None and selected.constructed and len(selected.children) == 1:
            charset = _choice_name(selected.children[0])
        lang = fields.get((CONTEXT, 2))
        language = None if lang is None else lang.content.decode("utf-8", "replace")
        return CharsetResponse(charset, language, records)
    raise ApduError("charset negotiation: neither proposal nor response")


def find_charneg(other_info: tuple[OtherInfo, ...]) -> CharsetProposal | CharsetResponse | None:
    """The charset negotiation in an Init PDU's ``other_info``, if any and if readable."""
    for item in other_info:
        ext = item.external
        if ext is None or ext.direct_reference != oids.CHARNEG_3:
            continue
        if isinstance(ext.encoding, Tlv):
            try:
                return _parse(ext.encoding)
            except BerError:
                return None
    return None
