"""The pure MARC layer of the unified catalogue (no database).

Read (ISO 2709 / MARCXML / CNMARC-XML, UTF-8 / GB18030 / MARC-8, detected and overridable),
map through explicit CNMARC/UNIMARC and MARC21 profiles, key for dedup, tokenise for CJK
search, and write for serving::

    from ils_bridge.catalogue import read_marc, extract_access_points, match_keys

    for result in read_marc(data):
        if not result.ok:
            log.warning("%s: %s", result.position, result.reason)
            continue
        access = extract_access_points(result.record, result.flavour)
        keys = match_keys(access)
"""

from __future__ import annotations

from ils_bridge.catalogue.access import (
    KEY_STEPS,
    AccessPoints,
    HoldingInfo,
    MatchKeys,
    extract_access_points,
    extract_holdings,
    match_keys,
    normalise_key_text,
)
from ils_bridge.catalogue.encodings import declared_charset, sniff_charset
from ils_bridge.catalogue.model import (
    Charset,
    CharsetDecision,
    Flavour,
    Position,
    ReadFailure,
    ReadRecord,
    ReadResult,
)
from ils_bridge.catalogue.profiles import (
    CNMARC_PROFILE,
    MARC21_PROFILE,
    UNIMARC_PROFILE,
    Profile,
    detect_flavour,
    profile_for,
    record_view,
)
from ils_bridge.catalogue.reader import Syntax, read_iso2709, read_marc, read_marcxml, read_path
from ils_bridge.catalogue.search import (
    fts5_match,
    index_text,
    index_tokens,
    like_patterns,
    query_phrases,
    query_tokens,
)
from ils_bridge.catalogue.writer import (
    MarcWriteError,
    to_iso2709,
    to_marcxml,
    to_marcxml_collection,
    with_charset_declaration,
)

__all__ = [
    "CNMARC_PROFILE",
    "KEY_STEPS",
    "MARC21_PROFILE",
    "UNIMARC_PROFILE",
    "AccessPoints",
    "Charset",
    "CharsetDecision",
    "Flavour",
    "HoldingInfo",
    "MarcWriteError",
    "MatchKeys",
    "Position",
    "Profile",
    "ReadFailure",
    "ReadRecord",
    "ReadResult",
    "Syntax",
    "declared_charset",
    "detect_flavour",
    "extract_access_points",
    "extract_holdings",
    "fts5_match",
    "index_text",
    "index_tokens",
    "like_patterns",
    "match_keys",
    "normalise_key_text",
    "profile_for",
    "query_phrases",
    "query_tokens",
    "read_iso2709",
    "read_marc",
    "read_marcxml",
    "read_path",
    "record_view",
    "sniff_charset",
    "to_iso2709",
    "to_marcxml",
    "to_marcxml_collection",
    "with_charset_declaration",
]
