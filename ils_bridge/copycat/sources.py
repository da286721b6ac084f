"""Catalogue sources: where copy cataloguing fetches records from.

A source is a class registered through the
:func:`~ils_bridge.hookspecs.ils_bridge_register_catalogue_sources` hook under a ``kind``; a
target profile (:class:`~ils_bridge.copycat.profiles.TargetProfile`) names its kind, and the
hub makes one source object per profile and search. The built-in ``z3950`` kind
(``plugins/z3950.py``) is a generic Z39.50 origin; a plugin can add sources that speak
something else (a vendor's HTTP API, SRU …) and receive the same queries.

Queries are PQF text (YAZ's prefix query format, Bib-1 attributes): what cataloguers already
type into yaz-client. A source returns raw records (ISO 2709 or MARCXML bytes, in whatever
charset the source uses); the hub decodes, converts and deduplicates them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from ..catalogue.model import Charset, Flavour
from .profiles import TargetProfile

__all__ = [
    "CatalogueSource",
    "CatalogueSourceRegistry",
    "SourceError",
    "SourceRecord",
    "SourceRegistryError",
    "SourceResult",
]


class SourceError(Exception):
    """A source failed in a way worth telling the cataloguer (diagnostic, refusal, timeout)."""


@dataclass(frozen=True)
class SourceRecord:
    """One record as the source sent it."""

    data: bytes
    format: str = "iso2709"  # "iso2709" | "marcxml"
    flavour: Flavour | None = None  # None: detect
    charset: Charset | None = None  # None: detect
    diagnostic: str | None = None  # a surrogate diagnostic instead of a record

    @property
    def ok(self) -> bool:
        return self.diagnostic is None


@dataclass(frozen=True)
class SourceResult:
    """The hit count and the records fetched (at most the ``max_records`` asked for)."""

    hits: int
    records: tuple[SourceRecord, ...] = ()
    query: str = ""  # the query finally run (e.g. the other ISBN form after no hits)
    notes: tuple[str, ...] = field(default=())

    def good(self) -> Iterator[SourceRecord]:
        return (r for r in self.records if r.ok)


@runtime_checkable
class CatalogueSource(Protocol):
    """What every catalogue source provides."""

    kind: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, profile: TargetProfile) -> None: ...

    async def search(self, pqf: str, *, max_records: int) -> SourceResult:
        """Run ``pqf``; fetch up to ``max_records`` records. Raise :class:`SourceError` for a
        diagnostic or refusal, ``TimeoutError``/``OSError`` for a dead or slow source."""
        ...


class SourceRegistryError(ValueError):
    pass


@dataclass
class CatalogueSourceRegistry:
    """Catalogue source classes by kind."""

    _sources: dict[str, type[CatalogueSource]] = field(default_factory=dict)

    def add(self, source: type[CatalogueSource]) -> None:
        kind = getattr(source, "kind", None)
        if not isinstance(kind, str) or not kind:
            raise SourceRegistryError(f"{source!r} has no string `kind`")
        kind = kind.lower()
        if kind in self._sources and self._sources[kind] is not source:
            raise SourceRegistryError(f"two plugins register a catalogue source called {kind!r}")
        self._sources[kind] = source

    def get(self, kind: str) -> type[CatalogueSource]:
        try:
            return self._sources[kind.lower()]
        except KeyError:
            known = ", ".join(sorted(self._sources)) or "none"
            raise SourceRegistryError(
                f"no catalogue source plugin of kind {kind!r} is installed (installed: {known})"
            ) from None

    def kinds(self) -> list[str]:
        return sorted(self._sources)

    def __contains__(self, kind: object) -> bool:
        return isinstance(kind, str) and kind.lower() in self._sources

    def make(self, profile: TargetProfile) -> CatalogueSource:
        return self.get(profile.kind)(profile)
