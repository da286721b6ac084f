"""Self-check machines and staff clients (SIP2 terminals), each bound to one library (R10)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from .codes import CodeKind, Normalisers
from .errors import Conflict, DuplicateCode, InvalidInput, NotFound
from .passwords import hash_password, verify_password
from .store.engine import Store
from .store.schema import events, libraries, terminals

ENCODINGS = ("utf-8", "gb18030", "cp850")


@dataclass(frozen=True)
class Terminal:
    id: int
    login: str
    library: str
    library_name: str
    allowed: tuple[str, ...]
    encoding: str
    terminator: str  # "CR" | "CRLF"
    mobile: bool
    status: str

    def as_json(self) -> dict[str, Any]:
        return {
            "login": self.login, "library": self.library, "allowed": list(self.allowed),
            "encoding": self.encoding, "terminator": self.terminator, "mobile": self.mobile,
            "status": self.status,
        }

    def allows(self, address: str | None) -> bool:
        if not self.allowed:
            return True
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in ipaddress.ip_network(net, strict=False) for net in self.allowed)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Terminals:
    def __init__(self, store: Store, normalisers: Normalisers | None = None) -> None:
        self.store = store
        self.normalisers = normalisers or Normalisers.default()

    def _lib_id(self, conn: Any, code: str) -> tuple[int, str]:
        value = self.normalisers.normalise(CodeKind.LIBRARY, code)
        row = conn.execute(
            select(libraries.c.id, libraries.c.code).where(
                libraries.c.code == getattr(value, "value", code), libraries.c.status == "active")
        ).first()
        if row is None:
            raise NotFound(f"no library with code {code.strip().upper()} (see `ils-bridge branch list`)")
        return int(row.id), str(row.code)

    def add(
        self,
        login: str,
        *,
        password: str,
        library: str,
        encoding: str = "utf-8",
        allow: list[str] | tuple[str, ...] = (),
        terminator: str = "CR",
        mobile: bool = False,
    ) -> Terminal:
        login = login.strip()
        if not login or len(login) > 64 or any(c in login for c in "|\r\n\0"):
            raise InvalidInput("a terminal login is 1–64 characters without |, CR, LF or NUL")
        if len(password) < 6:
            raise InvalidInput("a terminal password needs at least 6 characters")
        encoding = encoding.lower()
        if encoding not in ENCODINGS:
            raise InvalidInput(f"encoding must be one of {', '.join(ENCODINGS)}")
        if terminator not in ("CR", "CRLF"):
            raise InvalidInput("terminator must be CR or CRLF")
        nets = []
        for cidr in allow:
            try:
                nets.append(str(ipaddress.ip_network(cidr.strip(), strict=False)))
            except ValueError:
                raise InvalidInput(f"{cidr!r} is not an address or CIDR block like 192.0.2.0/24") from None
        pw_hash = hash_password(password)
        try:
            with self.store.write() as conn:
                lib_id, lib_code = self._lib_id(conn, library)
                if conn.execute(select(terminals.c.id).where(terminals.c.login == login)).first():
                    raise DuplicateCode("terminal login", login, "already registered")
                conn.execute(insert(terminals).values(
                    login=login, password_hash=pw_hash, library_id=lib_id, allowed=",".join(nets),
                    encoding=encoding, terminator=terminator, mobile=mobile, created_at=_now(),
                ))
                conn.execute(insert(events).values(
                    at=_now(), type="terminal-added", library_id=lib_id, library_code=lib_code,
                    terminal=login,
                ))
        except IntegrityError:
            raise DuplicateCode("terminal login", login, "already registered") from None
        return self.get(login)

    def _rows(self, where: Any = None) -> list[Terminal]:
        q = select(terminals, libraries.c.code.label("lib"), libraries.c.name.label("lib_name")).select_from(
            terminals.join(libraries)).order_by(terminals.c.login)
        if where is not None:
            q = q.where(where)
        with self.store.read() as conn:
            return [
                Terminal(r["id"], r["login"], r["lib"], r["lib_name"],
                         tuple(a for a in r["allowed"].split(",") if a), r["encoding"], r["terminator"],
                         bool(r["mobile"]), r["status"])
                for r in conn.execute(q).mappings()
            ]

    def list(self) -> list[Terminal]:
        return self._rows()

    def get(self, login: str) -> Terminal:
        found = self._rows(terminals.c.login == login.strip())
        if not found:
            raise NotFound(f"no terminal with login {login.strip()!r}")
        return found[0]

    def remove(self, login: str) -> None:
        with self.store.write() as conn:
            n = conn.execute(update(terminals).where(terminals.c.login == login.strip(),
                                                     terminals.c.status == "active").values(status="disabled")).rowcount
        if not n:
            raise NotFound(f"no active terminal with login {login.strip()!r}")

    def authenticate(self, login: str, password: str, address: str | None) -> Terminal | str:
        """The terminal, or why it is refused (for the log; the machine only hears ok=0)."""
        try:
            term = self.get(login)
        except NotFound:
            return f"unknown terminal {login!r}"
        with self.store.read() as conn:
            stored = conn.execute(select(terminals.c.password_hash).where(terminals.c.id == term.id)).scalar_one()
        if term.status != "active":
            return f"terminal {login!r} is disabled"
        if not verify_password(password, stored):
            return f"wrong password for terminal {login!r}"
        if not term.allows(address):
            return f"terminal {login!r} may not connect from {address} (allowed: {', '.join(term.allowed)})"
        with self.store.write() as conn:
            conn.execute(update(terminals).where(terminals.c.id == term.id).values(last_seen_at=_now()))
        return term

    def change_password(self, login: str, password: str) -> None:
        if len(password) < 6:
            raise InvalidInput("a terminal password needs at least 6 characters")
        with self.store.write() as conn:
            n = conn.execute(update(terminals).where(terminals.c.login == login.strip()).values(
                password_hash=hash_password(password))).rowcount
        if not n:
            raise NotFound(f"no terminal with login {login.strip()!r}")


__all__ = ["Conflict", "Terminal", "Terminals"]
