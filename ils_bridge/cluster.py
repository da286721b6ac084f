"""Cluster registry services: libraries, locations, code ranges, items and patrons.

Every state change is one transaction. Uniqueness (R3) is the database's job: we look up a
holder first only to give a better message, and an ``IntegrityError`` from a racing process
ends in the same :class:`DuplicateCode` refusal.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from . import privacy
from .adapters import AdapterRegistry, Endpoint
from .catalogue.search import index_text
from .codes import Code, CodeError, CodeKind, Normalisers
from .errors import Conflict, DuplicateCode, InvalidInput, NotFound
from .ranges import CodeRange, RangeError, overlaps, parse_range
from .store.engine import Store
from .store.schema import (
    bibs,
    code_ranges,
    events,
    identifiers,
    items,
    libraries,
    locations,
    meta,
    patrons,
)

log = logging.getLogger(__name__)

CIRC = "circ"  # item barcodes and reader cards share one namespace: a scan is one or the other
LIBRARY_KINDS = ("central", "branch", "service-point")
ENDPOINT_KINDS = ("fixed-ip", "domain", "dynamic")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
CHUNK = 500


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Library:
    id: int
    code: str
    name: str
    kind: str
    parent: str | None
    owner_code: str | None
    adapter: str
    endpoint: Endpoint
    encoding: str
    opened_on: dt.date | None
    status: str

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "parent": self.parent,
            "owner_code": self.owner_code,
            "adapter": self.adapter,
            "endpoint": {
                "kind": self.endpoint.kind,
                "host": self.endpoint.host,
                "port": self.endpoint.port,
            },
            "encoding": self.encoding,
            "opened_on": self.opened_on.isoformat() if self.opened_on else None,
            "status": self.status,
        }


@dataclass
class RowOutcome:
    line: int
    raw: str
    value: str | None
    outcome: str  # imported | duplicate | invalid
    detail: str = ""


@dataclass
class ImportReport:
    what: str
    library: str
    dry_run: bool = False
    rows: list[RowOutcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def imported(self) -> int:
        return self.count("imported")

    @property
    def duplicates(self) -> int:
        return self.count("duplicate")

    @property
    def invalid(self) -> int:
        return self.count("invalid")

    def summary(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "library": self.library,
            "dry_run": self.dry_run,
            "rows": len(self.rows),
            "imported": self.imported,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
        }


Progress = Callable[[int], None]


def _noop(_n: int) -> None:
    return None


class Cluster:
    """The registry services over one store."""

    def __init__(
        self,
        store: Store,
        *,
        normalisers: Normalisers | None = None,
        adapters: AdapterRegistry | None = None,
        secret: bytes | None = None,
    ) -> None:
        self.store = store
        self.normalisers = normalisers or Normalisers.default()
        self.adapters = adapters
        self._secret = secret

    # ------------------------------------------------------------------ helpers
    @property
    def secret(self) -> bytes:
        if self._secret is None:
            from .secret import load_secret

            self._secret = load_secret(create=False)
        return self._secret

    def normalise(self, kind: CodeKind | str, raw: str) -> str:
        result = self.normalisers.normalise(kind, raw)
        if isinstance(result, CodeError):
            raise InvalidInput(f"invalid {result.kind} {raw.strip()!r}: {result.reason}")
        return result.value

    def try_normalise(self, kind: CodeKind | str, raw: str) -> Code | CodeError:
        return self.normalisers.normalise(kind, raw)

    def _library_row(self, conn: Connection, code: str) -> RowMapping:
        value = self.normalise(CodeKind.LIBRARY, code)
        row = conn.execute(select(libraries).where(libraries.c.code == value)).mappings().first()
        if row is None or row["status"] != "active":
            raise NotFound(f"no library with code {value} (see `ils-bridge branch list`)")
        return row

    def _codes_by_id(self, conn: Connection) -> dict[int, str]:
        return {r.id: r.code for r in conn.execute(select(libraries.c.id, libraries.c.code))}

    def holder(self, conn: Connection, namespace: str, value: str) -> str | None:
        """Who holds (or once held) a code, in words; None when it was never issued."""
        return self.holders(conn, namespace, [value]).get(value)

    def holders(self, conn: Connection, namespace: str, values: Sequence[str]) -> dict[str, str]:
        """:meth:`holder` for many codes at once (a few queries per 500 codes)."""
        out: dict[str, str] = {}
        for start in range(0, len(values), CHUNK):
            chunk = list(values[start:start + CHUNK])
            rows = conn.execute(
                select(identifiers, libraries.c.code.label("library_code"))
                .select_from(identifiers.outerjoin(libraries, identifiers.c.library_id == libraries.c.id))
                .where(identifiers.c.namespace == namespace, identifiers.c.value.in_(chunk))
            ).mappings().all()
            item_ids = [r["entity_id"] for r in rows if r["entity_type"] == "item"]
            titles: dict[int, str] = {}
            if item_ids:
                titles = {
                    int(i): t
                    for i, t in conn.execute(
                        select(items.c.id, bibs.c.title).select_from(items.join(bibs)).where(items.c.id.in_(item_ids))
                    )
                }
            for row in rows:
                out[row["value"]] = _describe_holder(row, titles.get(row["entity_id"]))
        return out

    def _register(
        self,
        conn: Connection,
        *,
        namespace: str,
        kind: str,
        value: str,
        raw: str,
        entity_type: str,
        entity_id: int,
        library_id: int | None,
    ) -> None:
        ts = now()
        conn.execute(
            insert(identifiers).values(
                namespace=namespace,
                kind=kind,
                value=value,
                raw=raw[:256],
                entity_type=entity_type,
                entity_id=entity_id,
                library_id=library_id,
                status="ACTIVE",
                created_at=ts,
                updated_at=ts,
            )
        )

    def _event(
        self,
        conn: Connection,
        type_: str,
        *,
        library: RowMapping | None = None,
        detail: Mapping[str, Any] | None = None,
        item_id: int | None = None,
        patron_id: int | None = None,
    ) -> None:
        conn.execute(
            insert(events).values(
                at=now(),
                type=type_,
                library_id=library["id"] if library is not None else None,
                library_code=library["code"] if library is not None else None,
                item_id=item_id,
                patron_id=patron_id,
                detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
            )
        )

    def _duplicate_after_race(self, namespace: str, kind: str, value: str, shown: str | None = None) -> DuplicateCode:
        with self.store.read() as conn:
            holder = self.holder(conn, namespace, value) or "was registered by another process just now"
        return DuplicateCode(kind, shown or value, holder)

    # ---------------------------------------------------------------- libraries
    def add_library(
        self,
        code: str,
        *,
        name: str,
        kind: str = "branch",
        parent: str | None = None,
        owner_code: str | None = None,
        adapter: str = "local",
        endpoint: Endpoint | None = None,
        opened_on: dt.date | None = None,
        encoding: str = "utf-8",
        ranges: Sequence[tuple[str, str, str]] = (),
    ) -> Library:
        """Register a library; ``ranges`` are (kind, first, last) code ranges added in the same
        transaction, so a library whose ranges overlap another's is not registered at all."""
        value = self.normalise(CodeKind.LIBRARY, code)
        wanted_ranges = [self.parse_range(k, f, last) for k, f, last in ranges]
        oi = self.normalise(CodeKind.OWNER_CODE, owner_code) if owner_code else None
        if kind not in LIBRARY_KINDS:
            raise InvalidInput(f"unknown library kind {kind!r} (one of {', '.join(LIBRARY_KINDS)})")
        name = name.strip()
        if not name:
            raise InvalidInput("a library needs a name")
        if self.adapters is not None and adapter not in self.adapters:
            known = ", ".join(self.adapters.ids()) or "none installed"
            raise InvalidInput(f"no branch adapter called {adapter!r} is installed (installed: {known})")
        ep = endpoint or Endpoint(None, None, None)
        _check_endpoint(ep)
        _check_encoding(encoding)
        try:
            with self.store.write() as conn:
                for ns, v in (("library", value), ("owner-code", oi)):
                    if v is None:
                        continue
                    held = self.holder(conn, ns, v)
                    if held:
                        raise DuplicateCode("library code" if ns == "library" else "owner code", v, held)
                parent_id = None
                if kind == "central":
                    if parent:
                        raise InvalidInput("the central library has no parent")
                    other = conn.execute(
                        select(libraries.c.code).where(libraries.c.kind == "central", libraries.c.status == "active")
                    ).scalar()
                    if other:
                        raise Conflict(f"the cluster already has a central library ({other})")
                else:
                    if parent:
                        parent_id = self._library_row(conn, parent)["id"]
                    else:
                        parent_id = conn.execute(
                            select(libraries.c.id).where(libraries.c.kind == "central", libraries.c.status == "active")
                        ).scalar()
                lib_id = conn.execute(
                    insert(libraries)
                    .values(
                        code=value,
                        name=name,
                        kind=kind,
                        parent_id=parent_id,
                        owner_code=oi,
                        opened_on=opened_on,
                        adapter=adapter,
                        endpoint_kind=ep.kind,
                        endpoint_host=ep.host,
                        endpoint_port=ep.port,
                        endpoint_updated_at=now() if ep.kind else None,
                        encoding=encoding,
                        created_at=now(),
                    )
                    .returning(libraries.c.id)
                ).scalar_one()
                self._register(conn, namespace="library", kind="library", value=value, raw=code,
                               entity_type="library", entity_id=lib_id, library_id=lib_id)
                if oi:
                    self._register(conn, namespace="owner-code", kind="owner-code", value=oi,
                                   raw=owner_code or oi, entity_type="library", entity_id=lib_id,
                                   library_id=lib_id)
                row = conn.execute(select(libraries).where(libraries.c.id == lib_id)).mappings().one()
                self._event(conn, "library-added", library=row, detail={"kind": kind, "adapter": adapter})
                for rng in wanted_ranges:
                    self._add_range(conn, row, rng)
        except IntegrityError:
            if oi and self._held("owner-code", oi) and not self._held("library", value):
                raise self._duplicate_after_race("owner-code", "owner code", oi) from None
            raise self._duplicate_after_race("library", "library code", value) from None
        return self.get_library(value)

    def _held(self, namespace: str, value: str) -> bool:
        with self.store.read() as conn:
            return self.holder(conn, namespace, value) is not None

    def _library_from_row(self, row: RowMapping, codes: Mapping[int, str]) -> Library:
        return Library(
            id=row["id"],
            code=row["code"],
            name=row["name"],
            kind=row["kind"],
            parent=codes.get(row["parent_id"]) if row["parent_id"] else None,
            owner_code=row["owner_code"],
            adapter=row["adapter"],
            endpoint=Endpoint(row["endpoint_kind"], row["endpoint_host"], row["endpoint_port"]),
            encoding=row["encoding"],
            opened_on=row["opened_on"],
            status=row["status"],
        )

    def list_libraries(self, *, include_removed: bool = False) -> list[Library]:
        with self.store.read() as conn:
            codes = self._codes_by_id(conn)
            q = select(libraries).order_by(libraries.c.kind != "central", libraries.c.code)
            if not include_removed:
                q = q.where(libraries.c.status == "active")
            return [self._library_from_row(r, codes) for r in conn.execute(q).mappings()]

    def get_library(self, code: str) -> Library:
        with self.store.read() as conn:
            return self._library_from_row(self._library_row(conn, code), self._codes_by_id(conn))

    def library_stats(self, code: str) -> dict[str, int]:
        with self.store.read() as conn:
            lib = self._library_row(conn, code)
            lid = lib["id"]

            def count(q: Any) -> int:
                return int(conn.execute(q).scalar() or 0)

            return {
                "items_owned": count(select(func.count()).select_from(items).where(items.c.owner_library_id == lid)),
                "items_home": count(select(func.count()).select_from(items).where(items.c.home_library_id == lid)),
                "items_here": count(select(func.count()).select_from(items).where(items.c.current_library_id == lid)),
                "patrons": count(select(func.count()).select_from(patrons).where(patrons.c.home_library_id == lid)),
                "locations": count(select(func.count()).select_from(locations).where(locations.c.library_id == lid)),
                "ranges": count(select(func.count()).select_from(code_ranges).where(code_ranges.c.library_id == lid)),
            }

    def set_endpoint(self, code: str, endpoint: Endpoint) -> Library:
        _check_endpoint(endpoint)
        with self.store.write() as conn:
            lib = self._library_row(conn, code)
            conn.execute(
                update(libraries)
                .where(libraries.c.id == lib["id"])
                .values(
                    endpoint_kind=endpoint.kind,
                    endpoint_host=endpoint.host,
                    endpoint_port=endpoint.port,
                    endpoint_updated_at=now(),
                )
            )
            self._event(conn, "endpoint-changed", library=lib, detail={
                "from": [lib["endpoint_kind"], lib["endpoint_host"], lib["endpoint_port"]],
                "to": [endpoint.kind, endpoint.host, endpoint.port],
            })
        return self.get_library(code)

    def remove_library(self, code: str) -> None:
        """Retire a library that holds nothing; its codes are tombstoned, never reused."""
        with self.store.write() as conn:
            lib = self._library_row(conn, code)
            lid = lib["id"]
            n_items = conn.execute(
                select(func.count()).select_from(items).where(
                    or_(items.c.owner_library_id == lid, items.c.home_library_id == lid,
                        items.c.current_library_id == lid),
                    items.c.status != "withdrawn",
                )
            ).scalar_one()
            n_patrons = conn.execute(
                select(func.count()).select_from(patrons).where(patrons.c.home_library_id == lid, patrons.c.status != "closed")
            ).scalar_one()
            n_children = conn.execute(
                select(func.count()).select_from(libraries).where(libraries.c.parent_id == lid, libraries.c.status == "active")
            ).scalar_one()
            if n_items or n_patrons or n_children:
                raise Conflict(
                    f"library {lib['code']} still has {n_items} items, {n_patrons} patrons and "
                    f"{n_children} member libraries; move or withdraw them first"
                )
            conn.execute(update(libraries).where(libraries.c.id == lid).values(status="removed", closed_on=dt.date.today()))
            conn.execute(
                update(identifiers)
                .where(identifiers.c.library_id == lid, identifiers.c.namespace.in_(["library", "owner-code", "location"]))
                .values(status="TOMBSTONE", updated_at=now())
            )
            conn.execute(code_ranges.delete().where(code_ranges.c.library_id == lid))
            self._event(conn, "library-removed", library=lib)

    # ---------------------------------------------------------------- locations
    def add_location(self, library: str, code: str, *, name: str | None = None, loanable: bool = True) -> str:
        loc = self.normalise(CodeKind.LOCATION, code)
        try:
            with self.store.write() as conn:
                lib = self._library_row(conn, library)
                qualified = f"{lib['code']}-{loc}"
                held = self.holder(conn, "location", qualified)
                if held:
                    raise DuplicateCode("location", qualified, held)
                loc_id = conn.execute(
                    insert(locations)
                    .values(library_id=lib["id"], code=loc, name=(name or code).strip() or loc,
                            loanable=loanable, created_at=now())
                    .returning(locations.c.id)
                ).scalar_one()
                self._register(conn, namespace="location", kind="location", value=qualified, raw=code,
                               entity_type="location", entity_id=loc_id, library_id=lib["id"])
                self._event(conn, "location-added", library=lib, detail={"location": qualified})
        except IntegrityError:
            lib_code = self.normalise(CodeKind.LIBRARY, library)
            raise self._duplicate_after_race("location", "location", f"{lib_code}-{loc}") from None
        return qualified

    def list_locations(self, library: str | None = None) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            q = (
                select(libraries.c.code.label("library"), locations.c.code, locations.c.name, locations.c.loanable)
                .select_from(locations.join(libraries))
                .order_by(libraries.c.code, locations.c.code)
            )
            if library:
                q = q.where(libraries.c.id == self._library_row(conn, library)["id"])
            return [
                {"library": r.library, "code": r.code, "qualified": f"{r.library}-{r.code}",
                 "name": r.name, "loanable": bool(r.loanable)}
                for r in conn.execute(q)
            ]

    def _location_id(self, conn: Connection, lib: RowMapping, code: str) -> int:
        value = code.strip()
        # Accept the bare code or the qualified LIB-LOC form.
        prefix = f"{lib['code']}-"
        norm = self.normalise(CodeKind.LOCATION, value)
        candidates = [norm]
        if norm.startswith(prefix):
            candidates.append(norm[len(prefix):])
        row = conn.execute(
            select(locations.c.id).where(locations.c.library_id == lib["id"], locations.c.code.in_(candidates))
        ).scalar()
        if row is None:
            raise NotFound(f"library {lib['code']} has no location {norm} (see `ils-bridge location list`)")
        return int(row)

    # ------------------------------------------------------------------- ranges
    def _all_ranges(self, conn: Connection) -> list[CodeRange]:
        q = select(code_ranges, libraries.c.code.label("library")).select_from(code_ranges.join(libraries))
        return [
            CodeRange(r["kind"], r["prefix"], r["width"], r["first"], r["last"], r["library"])
            for r in conn.execute(q).mappings()
        ]

    def parse_range(self, kind: str, first: str, last: str) -> CodeRange:
        """A range from its first and last codes as typed (normalised first)."""
        if kind not in ("item", "patron"):
            raise InvalidInput(f"unknown range kind {kind!r} (item or patron)")
        code_kind = CodeKind.BARCODE if kind == "item" else CodeKind.CARD
        try:
            return parse_range(kind, self.normalise(code_kind, first), self.normalise(code_kind, last))
        except RangeError as exc:
            raise InvalidInput(str(exc)) from None

    def add_range(self, library: str, kind: str, first: str, last: str) -> CodeRange:
        rng = self.parse_range(kind, first, last)
        with self.store.write() as conn:
            lib = self._library_row(conn, library)
            return self._add_range(conn, lib, rng)

    def _add_range(self, conn: Connection, lib: RowMapping, rng: CodeRange) -> CodeRange:
        """Add ``rng`` for ``lib`` inside the caller's write transaction, or refuse it."""
        if not self.store.is_sqlite:
            # Serialise range changes across hub processes (SQLite's BEGIN IMMEDIATE already does).
            conn.exec_driver_sql("LOCK TABLE code_ranges IN SHARE ROW EXCLUSIVE MODE")
        kind = rng.kind
        rng = CodeRange(rng.kind, rng.prefix, rng.width, rng.first, rng.last, lib["code"])
        for other in self._all_ranges(conn):
            if overlaps(rng, other):
                raise Conflict(
                    f"{kind} range {rng.label()} overlaps {other.kind} range {other.label()} "
                    f"of library {other.library}"
                )
        # Codes already issued by other libraries inside the new range?
        clash = conn.execute(
            select(identifiers.c.value, libraries.c.code)
            .select_from(identifiers.outerjoin(libraries, identifiers.c.library_id == libraries.c.id))
            .where(
                identifiers.c.namespace == CIRC,
                identifiers.c.value.like(_like_prefix(rng.prefix)),
                func.length(identifiers.c.value) == rng.length,
                or_(identifiers.c.library_id != lib["id"], identifiers.c.kind != ("barcode" if kind == "item" else "card")),
            )
        ).all()
        for value, holder_lib in clash:
            if rng.contains(value):
                raise Conflict(
                    f"{kind} range {rng.label()} contains {value}, already issued by library {holder_lib}"
                )
        conn.execute(insert(code_ranges).values(
            library_id=lib["id"], kind=kind, prefix=rng.prefix, width=rng.width,
            first=rng.first, last=rng.last, created_at=now(),
        ))
        self._event(conn, "range-added", library=lib, detail={"kind": kind, "range": rng.label()})
        return rng

    def list_ranges(self, library: str | None = None) -> list[CodeRange]:
        with self.store.read() as conn:
            out = self._all_ranges(conn)
            if library:
                code = self._library_row(conn, library)["code"]
                out = [r for r in out if r.library == code]
            return sorted(out, key=lambda r: (r.library, r.kind, r.prefix, r.first))

    @staticmethod
    def _range_refusal(ranges: Sequence[CodeRange], kind: str, value: str, library: str) -> str | None:
        """Why ``value`` may not be issued as ``kind`` by ``library`` under the cluster's ranges."""
        own: list[CodeRange] = []
        for r in ranges:
            if r.contains(value):
                if r.kind != kind:
                    return f"{value} falls in {r.kind} range {r.label()} of library {r.library}"
                if r.library != library:
                    return f"{value} falls in {r.kind} range {r.label()} of library {r.library}"
                return None
            if r.kind == kind and r.library == library:
                own.append(r)
        if own:
            labels = ", ".join(r.label() for r in own)
            return f"{value} is outside library {library}'s {kind} ranges ({labels})"
        return None

    # -------------------------------------------------------------------- items
    def add_item(
        self,
        barcode: str,
        *,
        library: str,
        title: str | None = None,
        author: str | None = None,
        isbn: str | None = None,
        location: str | None = None,
        item_type: str = "book",
    ) -> dict[str, Any]:
        report = self.import_items(
            [{"barcode": barcode, "title": title or "", "author": author or "", "isbn": isbn or "",
              "location": location or "", "item_type": item_type}],
            library=library,
            source="item add",
        )
        row = report.rows[0]
        if row.outcome == "duplicate":
            raise DuplicateCode("barcode", row.value or barcode, row.detail)
        if row.outcome == "invalid":
            raise InvalidInput(row.detail)
        return {"barcode": row.value, "library": self.normalise(CodeKind.LIBRARY, library)}

    def import_items(
        self,
        rows: Iterable[Mapping[str, str | None]],
        *,
        library: str,
        dry_run: bool = False,
        progress: Progress = _noop,
        source: str = "item import",
    ) -> ImportReport:
        """Register items; every row is imported, a duplicate or invalid — never half of one."""
        rows = list(rows)
        with self.store.read() as conn:
            lib = self._library_row(conn, library)
            report = ImportReport("items", lib["code"], dry_run)
            loc_cache: dict[str, int | str] = {}
            ranges = self._all_ranges(conn)
            seen: dict[str, int] = {}
            candidates: list[tuple[RowOutcome, dict[str, Any]]] = []
            for n, row in enumerate(rows):
                line = n + 2  # the header is line 1
                raw = (row.get("barcode") or "")
                result = self.try_normalise(CodeKind.BARCODE, raw)
                if isinstance(result, CodeError):
                    report.rows.append(RowOutcome(line, raw, None, "invalid", result.reason))
                    continue
                value = result.value
                outcome = RowOutcome(line, raw, value, "imported")
                report.rows.append(outcome)
                if value in seen:
                    outcome.outcome, outcome.detail = "duplicate", f"repeats line {seen[value]} of this file"
                    continue
                seen[value] = line
                why = self._range_refusal(ranges, "item", value, lib["code"])
                if why:
                    outcome.outcome, outcome.detail = "invalid", why
                    continue
                loc_raw = (row.get("location") or "").strip()
                loc_id: int | None = None
                if loc_raw:
                    if loc_raw not in loc_cache:
                        try:
                            loc_cache[loc_raw] = self._location_id(conn, lib, loc_raw)
                        except (NotFound, InvalidInput) as exc:
                            loc_cache[loc_raw] = exc.message
                    got = loc_cache[loc_raw]
                    if isinstance(got, str):
                        outcome.outcome, outcome.detail = "invalid", got
                        continue
                    loc_id = got
                isbn_raw = (row.get("isbn") or "").strip()
                isbn_value = None
                if isbn_raw:
                    isbn_result = self.try_normalise(CodeKind.ISBN, isbn_raw)
                    if isinstance(isbn_result, CodeError):
                        outcome.outcome, outcome.detail = "invalid", f"ISBN {isbn_raw}: {isbn_result.reason}"
                        continue
                    isbn_value = isbn_result.value
                candidates.append((outcome, {
                    "barcode": value,
                    "raw": raw,
                    "title": (row.get("title") or "").strip(),
                    "author": (row.get("author") or "").strip() or None,
                    "isbn": isbn_value,
                    "location_id": loc_id,
                    "item_type": (row.get("item_type") or "").strip() or "book",
                }))
                if n % 1000 == 0:
                    progress(n)
        progress(len(rows))
        for _attempt in range(5):
            try:
                self._insert_items(lib, candidates, dry_run, source, progress)
                break
            except IntegrityError:
                # Another process registered some of these codes meanwhile: look again.
                log.info("import raced with another writer; re-checking duplicates")
                continue
        else:  # pragma: no cover - five races in a row
            raise Conflict("the import kept racing with another writer; nothing was imported, try again")
        return report

    def _insert_items(
        self,
        lib: RowMapping,
        candidates: list[tuple[RowOutcome, dict[str, Any]]],
        dry_run: bool,
        source: str,
        progress: Progress,
    ) -> None:
        with self.store.write() as conn:
            pending = [(o, c) for o, c in candidates if o.outcome == "imported"]
            held = self._existing(conn, [c["barcode"] for _, c in pending])
            holders = self.holders(conn, CIRC, sorted(held))
            fresh: list[tuple[RowOutcome, dict[str, Any]]] = []
            for outcome, cand in pending:
                if cand["barcode"] in held:
                    outcome.outcome = "duplicate"
                    outcome.detail = holders.get(cand["barcode"], "already registered")
                else:
                    fresh.append((outcome, cand))
            if dry_run or not fresh:
                if dry_run:
                    conn.rollback()
                return
            ts = now()
            # One brief bibliographic record per distinct (title, author, isbn) of the batch;
            # the catalogue replaces these with full records when MARC arrives.
            bib_keys: dict[tuple[str, str | None, str | None], int] = {}
            need = sorted({(c["title"], c["author"], c["isbn"]) for _, c in fresh if c["title"]},
                          key=lambda k: (k[0], k[1] or "", k[2] or ""))
            for start in range(0, len(need), CHUNK):
                keys = need[start:start + CHUNK]
                ids = conn.execute(
                    insert(bibs).returning(bibs.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "title": t, "author": a, "isbn": i, "created_at": ts,
                            # searchable at once (the catalogue's CJK tokens), like full records
                            "search_title": index_text(t) or "", "search_author": index_text(a) if a else None,
                        }
                        for t, a, i in keys
                    ],
                ).scalars().all()
                bib_keys.update(zip(keys, ids, strict=True))
            done = 0
            for start in range(0, len(fresh), CHUNK):
                chunk = fresh[start:start + CHUNK]
                item_rows = [
                    {
                        "barcode": c["barcode"],
                        "bib_id": bib_keys.get((c["title"], c["author"], c["isbn"])),
                        "owner_library_id": lib["id"],
                        "home_library_id": lib["id"],
                        "home_location_id": c["location_id"],
                        "current_library_id": lib["id"],
                        "item_type": c["item_type"][:32],
                        "status": "available",
                        "created_at": ts,
                    }
                    for _, c in chunk
                ]
                ids = conn.execute(
                    insert(items).returning(items.c.id, sort_by_parameter_order=True), item_rows
                ).scalars().all()
                conn.execute(insert(identifiers), [
                    {
                        "namespace": CIRC, "kind": "barcode", "value": c["barcode"], "raw": c["raw"][:256],
                        "entity_type": "item", "entity_id": item_id, "library_id": lib["id"],
                        "status": "ACTIVE", "created_at": ts, "updated_at": ts,
                    }
                    for (_, c), item_id in zip(chunk, ids, strict=True)
                ])
                done += len(chunk)
                progress(done)
            self._event(conn, "items-registered", library=lib,
                        detail={"count": len(fresh), "source": source})

    def withdraw_item(self, barcode: str, *, reason: str = "withdrawn") -> None:
        """Withdraw an item: its barcode is tombstoned and can never be issued again."""
        value = self.normalise(CodeKind.BARCODE, barcode)
        with self.store.write() as conn:
            row = conn.execute(select(items).where(items.c.barcode == value)).mappings().first()
            if row is None:
                raise NotFound(f"no item with barcode {value}")
            if row["status"] == "withdrawn":
                raise Conflict(f"item {value} is already withdrawn")
            if row["status"] == "on-loan":
                raise Conflict(f"item {value} is on loan; check it in first")
            conn.execute(update(items).where(items.c.id == row["id"]).values(status="withdrawn"))
            conn.execute(
                update(identifiers)
                .where(identifiers.c.entity_type == "item", identifiers.c.entity_id == row["id"])
                .values(status="TOMBSTONE", updated_at=now())
            )
            lib = conn.execute(select(libraries).where(libraries.c.id == row["owner_library_id"])).mappings().one()
            self._event(conn, "item-withdrawn", library=lib, item_id=row["id"], detail={"reason": reason})

    def _existing(self, conn: Connection, values: Sequence[str], namespace: str = CIRC) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(values), CHUNK):
            chunk = list(values[start:start + CHUNK])
            found.update(
                conn.execute(
                    select(identifiers.c.value).where(identifiers.c.namespace == namespace,
                                                      identifiers.c.value.in_(chunk))
                ).scalars()
            )
        return found

    def list_items(self, library: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            codes = self._codes_by_id(conn)
            q = (
                select(items, bibs.c.title, locations.c.code.label("location"))
                .select_from(items.outerjoin(bibs).outerjoin(locations, items.c.home_location_id == locations.c.id))
                .order_by(items.c.barcode)
                .limit(limit)
            )
            if library:
                q = q.where(items.c.home_library_id == self._library_row(conn, library)["id"])
            return [
                {
                    "barcode": r["barcode"], "title": r["title"],
                    "owner": codes[r["owner_library_id"]], "home": codes[r["home_library_id"]],
                    "location": f"{codes[r['home_library_id']]}-{r['location']}" if r["location"] else None,
                    "current": codes[r["current_library_id"]], "status": r["status"],
                    "item_type": r["item_type"],
                }
                for r in conn.execute(q).mappings()
            ]

    # ------------------------------------------------------------------ patrons
    def card_storage(self, card: str) -> tuple[str, str, str | None]:
        """(stored value, display value, resident-ID hash) for a normalised card number.

        A card that *is* a resident ID number is personal information: it is stored only as
        a keyed hash, shown masked.
        """
        rid = self.normalisers.normalise(CodeKind.RESIDENT_ID, card)
        if isinstance(rid, Code) and len(card) == 18:
            digest = privacy.keyed_hash(self.secret, "resident-id", rid.value)
            return f"H:{digest}", privacy.mask_resident_id(rid.value), digest
        return card, card, None

    def add_patron(
        self,
        card: str,
        *,
        library: str,
        name: str,
        resident_id: str | None = None,
        category: str = "adult",
        expires_on: dt.date | None = None,
    ) -> dict[str, Any]:
        report = self.import_patrons(
            [{"card": card, "name": name, "resident_id": resident_id or "", "category": category,
              "expires_on": expires_on.isoformat() if expires_on else ""}],
            library=library,
            source="patron add",
        )
        row = report.rows[0]
        if row.outcome == "duplicate":
            kind, _, rest = row.detail.partition("|")
            value, _, holder = rest.partition("|")
            raise DuplicateCode(kind, value, holder)
        if row.outcome == "invalid":
            raise InvalidInput(row.detail)
        return {"card": row.value, "library": self.normalise(CodeKind.LIBRARY, library)}

    def import_patrons(
        self,
        rows: Iterable[Mapping[str, str | None]],
        *,
        library: str,
        dry_run: bool = False,
        progress: Progress = _noop,
        source: str = "patron import",
    ) -> ImportReport:
        rows = list(rows)
        with self.store.read() as conn:
            lib = self._library_row(conn, library)
            ranges = self._all_ranges(conn)
        report = ImportReport("patrons", lib["code"], dry_run)
        seen_cards: dict[str, int] = {}
        seen_ids: dict[str, int] = {}
        candidates: list[tuple[RowOutcome, dict[str, Any]]] = []
        for n, row in enumerate(rows):
            line = n + 2
            raw = row.get("card") or ""
            result = self.try_normalise(CodeKind.CARD, raw)
            if isinstance(result, CodeError):
                report.rows.append(RowOutcome(line, raw, None, "invalid", result.reason))
                continue
            stored, shown, card_rid_hash = self.card_storage(result.value)
            outcome = RowOutcome(line, privacy.mask_text(raw), shown, "imported")
            report.rows.append(outcome)
            name = (row.get("name") or "").strip()
            if not name:
                outcome.outcome, outcome.detail = "invalid", "a patron needs a name"
                continue
            if stored in seen_cards:
                outcome.outcome = "duplicate"
                outcome.detail = f"card|{shown}|repeats line {seen_cards[stored]} of this file"
                continue
            seen_cards[stored] = line
            why = self._range_refusal(ranges, "patron", result.value, lib["code"]) if card_rid_hash is None else None
            if why:
                outcome.outcome, outcome.detail = "invalid", why
                continue
            rid_hash, rid_masked = card_rid_hash, shown if card_rid_hash else None
            rid_raw = (row.get("resident_id") or "").strip()
            if rid_raw:
                rid = self.try_normalise(CodeKind.RESIDENT_ID, rid_raw)
                if isinstance(rid, CodeError):
                    outcome.outcome, outcome.detail = "invalid", f"resident ID: {rid.reason}"
                    continue
                given_hash = privacy.keyed_hash(self.secret, "resident-id", rid.value)
                if rid_hash and given_hash != rid_hash:
                    outcome.outcome = "invalid"
                    outcome.detail = "the card is a resident ID number that differs from the resident ID given"
                    continue
                rid_hash, rid_masked = given_hash, privacy.mask_resident_id(rid.value)
            if rid_hash:
                if rid_hash in seen_ids:
                    outcome.outcome = "duplicate"
                    outcome.detail = f"resident-id|{rid_masked}|repeats line {seen_ids[rid_hash]} of this file"
                    continue
                seen_ids[rid_hash] = line
            expires = None
            exp_raw = (row.get("expires_on") or "").strip()
            if exp_raw:
                try:
                    expires = dt.date.fromisoformat(exp_raw)
                except ValueError:
                    outcome.outcome, outcome.detail = "invalid", f"expiry date {exp_raw!r} is not YYYY-MM-DD"
                    continue
            candidates.append((outcome, {
                "card": stored, "card_display": shown, "raw": privacy.mask_text(raw), "name": name[:200],
                "rid_hash": rid_hash, "rid_masked": rid_masked,
                "category": (row.get("category") or "").strip() or "adult", "expires_on": expires,
            }))
            if n % 1000 == 0:
                progress(n)
        progress(len(rows))
        for _attempt in range(5):
            try:
                self._insert_patrons(lib, candidates, dry_run, source)
                break
            except IntegrityError:
                continue
        else:  # pragma: no cover
            raise Conflict("the import kept racing with another writer; nothing was imported, try again")
        return report

    def _insert_patrons(
        self, lib: RowMapping, candidates: list[tuple[RowOutcome, dict[str, Any]]], dry_run: bool, source: str
    ) -> None:
        with self.store.write() as conn:
            pending = [(o, c) for o, c in candidates if o.outcome == "imported"]
            held = self._existing(conn, [c["card"] for _, c in pending])
            card_holders = self.holders(conn, CIRC, sorted(held))
            hashes = [c["rid_hash"] for _, c in pending if c["rid_hash"]]
            id_holders: dict[str, str] = {}
            for start in range(0, len(hashes), CHUNK):
                for h, card_display, lib_code in conn.execute(
                    select(patrons.c.resident_id_hash, patrons.c.card_display, libraries.c.code)
                    .select_from(patrons.join(libraries))
                    .where(patrons.c.resident_id_hash.in_(hashes[start:start + CHUNK]), patrons.c.status != "closed")
                ):
                    id_holders[h] = f"already belongs to patron card {card_display} of library {lib_code}"
            fresh = []
            for outcome, cand in pending:
                if cand["card"] in held:
                    outcome.outcome = "duplicate"
                    outcome.detail = f"card|{cand['card_display']}|" + card_holders.get(cand["card"], "")
                elif cand["rid_hash"] and cand["rid_hash"] in id_holders:
                    outcome.outcome = "duplicate"
                    outcome.detail = f"resident-id|{cand['rid_masked']}|{id_holders[cand['rid_hash']]}"
                else:
                    fresh.append((outcome, cand))
            if dry_run or not fresh:
                if dry_run:
                    conn.rollback()
                return
            ts = now()
            for start in range(0, len(fresh), CHUNK):
                chunk = fresh[start:start + CHUNK]
                ids = conn.execute(
                    insert(patrons).returning(patrons.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "card": c["card"], "card_display": c["card_display"], "name": c["name"],
                            "home_library_id": lib["id"], "category": c["category"][:32], "status": "active",
                            "expires_on": c["expires_on"], "resident_id_hash": c["rid_hash"],
                            "resident_id_masked": c["rid_masked"], "created_at": ts,
                        }
                        for _, c in chunk
                    ],
                ).scalars().all()
                conn.execute(insert(identifiers), [
                    {
                        "namespace": CIRC, "kind": "card", "value": c["card"], "raw": c["raw"][:256],
                        "entity_type": "patron", "entity_id": pid, "library_id": lib["id"],
                        "status": "ACTIVE", "created_at": ts, "updated_at": ts,
                    }
                    for (_, c), pid in zip(chunk, ids, strict=True)
                ])
            self._event(conn, "patrons-registered", library=lib, detail={"count": len(fresh), "source": source})

    def list_patrons(self, library: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            q = (
                select(patrons.c.card_display, patrons.c.name, libraries.c.code, patrons.c.status,
                       patrons.c.category, patrons.c.resident_id_masked)
                .select_from(patrons.join(libraries))
                .order_by(patrons.c.card_display)
                .limit(limit)
            )
            if library:
                q = q.where(patrons.c.home_library_id == self._library_row(conn, library)["id"])
            return [
                {"card": r[0], "name": r[1], "home": r[2], "status": r[3], "category": r[4],
                 "resident_id": r[5]}
                for r in conn.execute(q)
            ]

    # ---------------------------------------------------------------- overview
    def overview(self) -> dict[str, Any]:
        with self.store.read() as conn:
            def count(t: Any, *where: Any) -> int:
                return int(conn.execute(select(func.count()).select_from(t).where(and_(True, *where))).scalar() or 0)

            return {
                "libraries": count(libraries, libraries.c.status == "active"),
                "locations": count(locations),
                "items": count(items),
                "patrons": count(patrons, patrons.c.status != "closed"),
                "identifiers": count(identifiers),
                "events": count(events),
            }


def _describe_holder(row: RowMapping, title: str | None) -> str:
    lib = row["library_code"]
    where = f" of library {lib}" if lib else ""
    entity = row["entity_type"]
    if entity == "item":
        what = f"item {row['value']}{where}" + (f" 《{title}》" if title else "")
    elif entity == "patron":
        what = f"patron card {row['raw']}{where}"
    elif entity == "library":
        what = f"library {lib}"
    elif entity == "location":
        what = f"location {row['value']}"
    else:
        what = f"{entity} {row['value']}{where}"
    if row["status"] == "TOMBSTONE":
        return f"was used by {what} until {row['updated_at']:%Y-%m-%d}; codes are never reused"
    if row["status"] == "ALIAS":
        return f"is a former code of {what}"
    return f"already held by {what}"


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _check_endpoint(ep: Endpoint) -> None:
    if ep.kind is None:
        if ep.host or ep.port:
            raise InvalidInput("say what kind of endpoint this is: fixed-ip, domain or dynamic")
        return
    if ep.kind not in ENDPOINT_KINDS:
        raise InvalidInput(f"unknown endpoint kind {ep.kind!r} (one of {', '.join(ENDPOINT_KINDS)})")
    if ep.port is not None and not 1 <= ep.port <= 65535:
        raise InvalidInput(f"port {ep.port} is not between 1 and 65535")
    if ep.kind == "fixed-ip":
        try:
            ipaddress.ip_address(ep.host or "")
        except ValueError:
            raise InvalidInput(f"{ep.host!r} is not an IP address (use --domain for a host name)") from None
    elif ep.kind == "domain":
        if not ep.host or not _HOSTNAME.match(ep.host):
            raise InvalidInput(f"{ep.host!r} is not a valid domain name")
    elif ep.host:  # dynamic: the last address the branch reported, if any
        try:
            ipaddress.ip_address(ep.host)
        except ValueError:
            raise InvalidInput(f"{ep.host!r} is not an IP address") from None


def _check_encoding(encoding: str) -> None:
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InvalidInput(f"unknown character encoding {encoding!r} (e.g. utf-8, gb18030)") from None


def secret_check(store: Store, secret: bytes, *, claim: bool) -> str | None:
    """Compare ``secret`` with the fingerprint the database keeps; claim it if absent.

    Returns a problem description, or None when all is well.
    """
    from .secret import fingerprint

    fp = fingerprint(secret)
    with store.write() as conn:
        row = conn.execute(select(meta.c.value).where(meta.c.key == "secret_fingerprint")).scalar()
        if row is None:
            if claim:
                conn.execute(insert(meta).values(key="secret_fingerprint", value=fp))
            return None
        if row != fp:
            return (
                "this database was set up with a different secret key: point ILS_BRIDGE_SECRET_FILE "
                "at the key the other hub processes use"
            )
    return None
