"""Copy cataloguing (套录): target profiles, catalogue sources (plugins) and the import of
what they send into the unified catalogue."""

from __future__ import annotations

from .profiles import SYNTAXES, TargetProfile, TargetProfiles, parse_address
from .service import (
    Brief,
    CopyReport,
    TargetOutcome,
    brief,
    copy_records,
    isbn_queries,
    search_targets,
)
from .sources import (
    CatalogueSource,
    CatalogueSourceRegistry,
    SourceError,
    SourceRecord,
    SourceRegistryError,
    SourceResult,
)

__all__ = [
    "SYNTAXES",
    "Brief",
    "CatalogueSource",
    "CatalogueSourceRegistry",
    "CopyReport",
    "SourceError",
    "SourceRecord",
    "SourceRegistryError",
    "SourceResult",
    "TargetOutcome",
    "TargetProfile",
    "TargetProfiles",
    "brief",
    "copy_records",
    "isbn_queries",
    "parse_address",
    "search_targets",
]
