"""Sans-I/O Z39.50 (ANSI/NISO Z39.50-1995) for copy cataloguing.

Layers, after h11:

* :mod:`.ber` — BER TLV codec, framing and limits;
* :mod:`.apdu` — Init/Search/Present/Close PDUs as frozen dataclasses;
  :mod:`.records`, :mod:`.charneg`, :mod:`.diagnostics` for what travels in them;
* :mod:`.pqf` — YAZ Prefix Query Format parser and printer;
* :mod:`.connection` — the association state machine (both roles);
* :mod:`.target` / :mod:`.origin` — thin asyncio server and client.

Nothing here imports from ``ils_bridge`` or ``plugins``.
"""

from __future__ import annotations

from . import oids
from .apdu import (
    ApduError,
    AttributeElement,
    AttributesPlusTerm,
    Close,
    CloseReason,
    DefaultDiag,
    External,
    InitRequest,
    InitResponse,
    NamePlusRecord,
    Options,
    Pdu,
    PresentRequest,
    PresentResponse,
    PresentStatus,
    ResponseRecords,
    RpnOp,
    RpnQuery,
    SearchRequest,
    SearchResponse,
    UnknownPdu,
    decode_pdu,
    encode_pdu,
)
from .ber import BerError, BerLimits
from .charneg import CharsetProposal, CharsetResponse
from .connection import (
    CONNECTION_CLOSED,
    NEED_DATA,
    Association,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    Role,
    State,
)
from .origin import AssociationClosed, Z3950Origin
from .pqf import PqfError, parse_pqf, print_pqf
from .records import CircRecord, HoldingsAndCirc, OpacRecord
from .target import (
    AssociationContext,
    Backend,
    Diagnostic,
    PresentQuery,
    PresentResult,
    ResultSet,
    RetrievalRecord,
    SearchQuery,
    SearchResult,
    TargetConfig,
    Z3950Target,
)

__all__ = [
    "CONNECTION_CLOSED",
    "NEED_DATA",
    "ApduError",
    "Association",
    "AssociationClosed",
    "AssociationContext",
    "AttributeElement",
    "AttributesPlusTerm",
    "Backend",
    "BerError",
    "BerLimits",
    "CharsetProposal",
    "CharsetResponse",
    "CircRecord",
    "Close",
    "CloseReason",
    "DefaultDiag",
    "Diagnostic",
    "External",
    "HoldingsAndCirc",
    "InitRequest",
    "InitResponse",
    "LocalProtocolError",
    "NamePlusRecord",
    "OpacRecord",
    "Options",
    "Pdu",
    "PqfError",
    "PresentQuery",
    "PresentRequest",
    "PresentResponse",
    "PresentResult",
    "PresentStatus",
    "ProtocolError",
    "RemoteProtocolError",
    "ResponseRecords",
    "ResultSet",
    "RetrievalRecord",
    "Role",
    "RpnOp",
    "RpnQuery",
    "SearchQuery",
    "SearchRequest",
    "SearchResponse",
    "SearchResult",
    "State",
    "TargetConfig",
    "UnknownPdu",
    "Z3950Origin",
    "Z3950Target",
    "decode_pdu",
    "encode_pdu",
    "oids",
    "parse_pqf",
    "print_pqf",
]
