"""Target profiles: the external catalogue sources cataloguers copy records from.

A profile names a source (``kind``: the source plugin, ``z3950`` built in), where it is
(``host``, ``port``, ``database``), what to ask for (``syntax``: ``unimarc`` for CNMARC,
``usmarc`` for MARC21), the charsets it really uses (``record_encoding`` — "auto" detects,
and Chinese targets that say GB2312 are read as GB18030 — and ``term_encoding`` for query
terms), whether to propose Z39.50 charset negotiation, credentials and a timeout.

The password must be sent to the target as given, so it is stored as given; nothing that
lists profiles shows it (:meth:`TargetProfile.as_json` says only whether there is one).
"""

from __future__ import annotations

import builtins
import codecs
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..catalogue.model import Charset, Flavour
from ..errors import DuplicateCode, InvalidInput, NotFound
from ..store.engine import Store
from ..store.schema import z3950_targets

__all__ = [
    "SYNTAXES",
    "TargetProfile",
    "TargetProfiles",
    "parse_address",
]

#: Record syntaxes a profile may ask for, by the names yaz-client uses.
SYNTAXES = ("unimarc", "usmarc")
_SYNTAX_ALIASES = {
    "unimarc": "unimarc",
    "cnmarc": "unimarc",
    "usmarc": "usmarc",
    "marc21": "usmarc",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
RESERVED_NAMES = frozenset({"all"})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class TargetProfile:
    """One registered source."""

    name: str
    host: str
    port: int
    database: str
    syntax: str = "unimarc"  # "unimarc" | "usmarc"
    record_encoding: str = "auto"  # "auto" or a charset label (utf-8, gb18030, marc-8 …)
    term_encoding: str = "utf-8"
    negotiate: bool = True
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 15.0
    kind: str = "z3950"

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}/{self.database}"

    @property
    def flavour(self) -> Flavour:
        """The MARC flavour records from this source are read as (UNIMARC here means CNMARC)."""
        return Flavour.MARC21 if self.syntax == "usmarc" else Flavour.CNMARC

    @property
    def record_charset(self) -> Charset | None:
        """The charset records arrive in, or None to detect it."""
        if self.record_encoding == "auto":
            return None
        return Charset.from_label(self.record_encoding)

    def as_json(self) -> dict[str, Any]:
        """The profile without its password (``password_set`` says whether there is one)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "address": self.address,
            "syntax": self.syntax,
            "record_encoding": self.record_encoding,
            "term_encoding": self.term_encoding,
            "negotiate": self.negotiate,
            "user": self.user,
            "password_set": bool(self.password),
            "timeout": self.timeout,
        }


def parse_address(text: str) -> tuple[str, int, str]:
    """``HOST:PORT/DB`` (``[v6]:PORT/DB``; ``/DB`` defaults to ``Default``, port to 210)."""
    text = text.strip()
    rest, _, database = text.partition("/")
    database = database.strip() or "Default"
    host, port_text = rest, "210"
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise InvalidInput(f"{text!r}: unbalanced [ in the address")
        host, port_text = rest[1:end], rest[end + 1 :].lstrip(":") or "210"
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
    host = host.strip()
    if not host:
        raise InvalidInput(f"{text!r}: give the target as HOST:PORT/DATABASE")
    try:
        port = int(port_text)
    except ValueError:
        raise InvalidInput(f"{text!r}: the port must be a number") from None
    if not 1 <= port <= 65535:
        raise InvalidInput(f"{text!r}: the port must be 1–65535")
    return host, port, database


def _check_encoding(label: str, what: str, allow_auto: bool) -> str:
    key = label.strip().lower()
    if allow_auto and key == "auto":
        return key
    if what == "record encoding":
        try:
            return Charset.from_label(key).value
        except ValueError:
            raise InvalidInput(
                f"unknown {what} {label!r} (auto, utf-8, gb18030, gbk, gb2312, marc-8)"
            ) from None
    try:
        codecs.lookup(key)
    except LookupError:
        raise InvalidInput(f"unknown {what} {label!r} (utf-8, gb18030, gbk …)") from None
    return "gb18030" if key in ("gb2312", "gbk", "cp936", "euc-cn") else key


class TargetProfiles:
    """Target profiles in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, profile: TargetProfile) -> TargetProfile:
        name = profile.name.strip()
        if not _NAME.match(name) or name.lower() in RESERVED_NAMES:
            raise InvalidInput(
                f"{profile.name!r} is not a usable target name (1–64 letters, digits, '.', '_', "
                "'-'; not 'all')"
            )
        syntax = _SYNTAX_ALIASES.get(profile.syntax.strip().lower())
        if syntax is None:
            raise InvalidInput(f"unknown record syntax {profile.syntax!r} (unimarc or usmarc)")
        if not 0 < profile.timeout <= 3600:
            raise InvalidInput("the timeout must be more than 0 and at most 3600 seconds")
        if not profile.kind.strip():
            raise InvalidInput("a target needs a kind (the source plugin, e.g. z3950)")
        clean = replace(
            profile,
            name=name,
            syntax=syntax,
            kind=profile.kind.strip().lower(),
            record_encoding=_check_encoding(profile.record_encoding, "record encoding", True),
            term_encoding=_check_encoding(profile.term_encoding, "term encoding", False),
            user=profile.user or None,
            password=profile.password or None,
        )
        try:
            with self.store.write() as conn:
                if conn.execute(
                    select(z3950_targets.c.id).where(
                        func.lower(z3950_targets.c.name) == name.lower()
                    )
                ).first():
                    raise DuplicateCode("target", name, "already registered")
                conn.execute(
                    insert(z3950_targets).values(
                        name=name,
                        kind=clean.kind,
                        host=clean.host,
                        port=clean.port,
                        database=clean.database,
                        syntax=clean.syntax,
                        record_encoding=clean.record_encoding,
                        term_encoding=clean.term_encoding,
                        negotiate=clean.negotiate,
                        username=clean.user,
                        password=clean.password,
                        timeout_ms=max(1, round(clean.timeout * 1000)),
                        created_at=_now(),
                    )
                )
        except IntegrityError:
            raise DuplicateCode("target", name, "already registered") from None
        return clean

    @staticmethod
    def _from_row(row: Any) -> TargetProfile:
        return TargetProfile(
            name=row.name,
            host=row.host,
            port=int(row.port),
            database=row.database,
            syntax=row.syntax,
            record_encoding=row.record_encoding,
            term_encoding=row.term_encoding,
            negotiate=bool(row.negotiate),
            user=row.username,
            password=row.password,
            timeout=row.timeout_ms / 1000,
            kind=row.kind,
        )

    def list(self) -> list[TargetProfile]:
        with self.store.read() as conn:
            rows = conn.execute(select(z3950_targets)).all()
        return sorted((self._from_row(r) for r in rows), key=lambda p: (p.name.lower(), p.name))

    def get(self, name: str) -> TargetProfile:
        with self.store.read() as conn:
            row = conn.execute(
                select(z3950_targets).where(
                    func.lower(z3950_targets.c.name) == name.strip().lower()
                )
            ).first()
        if row is None:
            raise NotFound(f"no target called {name.strip()} (see `ils-bridge z3950 target list`)")
        return self._from_row(row)

    def select(self, names: Sequence[str]) -> builtins.list[TargetProfile]:
        """Profiles by name, in the order given; ``all`` means every profile (none: refused)."""
        wanted: builtins.list[str] = []
        for n in names:
            wanted += [p.strip() for p in n.split(",") if p.strip()]
        if not wanted:
            raise InvalidInput("name at least one target (or all)")
        if any(n.lower() == "all" for n in wanted):
            profiles = self.list()
            if not profiles:
                raise NotFound("no targets are registered (see `ils-bridge z3950 target add`)")
            return profiles
        out: builtins.list[TargetProfile] = []
        for n in dict.fromkeys(wanted):
            out.append(self.get(n))
        return out

    def remove(self, name: str) -> None:
        with self.store.write() as conn:
            gone = conn.execute(
                delete(z3950_targets).where(
                    func.lower(z3950_targets.c.name) == name.strip().lower()
                )
            ).rowcount
        if not gone:
            raise NotFound(f"no target called {name.strip()} (see `ils-bridge z3950 target list`)")
