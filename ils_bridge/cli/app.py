"""Shared CLI plumbing: the application object, output helpers and error mapping."""

from __future__ import annotations

import csv
import functools
import io
import json
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click
import pluggy

from ..cluster import Cluster
from ..errors import HubError
from ..plugin_manager import Registries, build_registries
from ..store.engine import Store, describe_url, open_store
from ..store.version import HEAD, stored_revision

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class App:
    """What every command needs, built lazily so `--help` never touches the database."""

    pm: pluggy.PluginManager
    db_url: str | None = None
    _store: Store | None = None
    _registries: Registries | None = None
    _cluster: Cluster | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def registries(self) -> Registries:
        if self._registries is None:
            self._registries = build_registries(self.pm)
        return self._registries

    def open(self) -> Store:
        if self._store is None:
            self._store = open_store(self.db_url)
            self.closers.append(self._store.dispose)
        return self._store

    @property
    def store(self) -> Store:
        """The store, refusing politely when it has not been initialised or upgraded."""
        store = self.open()
        current = stored_revision(store)
        head = HEAD
        where = describe_url(store.url)
        if current is None:
            raise HubError(f"the database at {where} is not set up yet; run `ils-bridge init`")
        if current != head:
            raise HubError(
                f"the database at {where} is at schema {current}, this ils-bridge needs {head}; "
                "run `ils-bridge init` to upgrade"
            )
        return store

    @property
    def cluster(self) -> Cluster:
        if self._cluster is None:
            self._cluster = Cluster(
                self.store,
                normalisers=self.registries.normalisers,
                adapters=self.registries.adapters,
            )
        return self._cluster

    def close(self) -> None:
        for closer in reversed(self.closers):
            closer()


pass_app = click.make_pass_decorator(App)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(f)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A plain aligned table that keeps Chinese text (double width) in line."""
    data = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [_width(h) for h in headers]
    for row in data:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], _width(cell))

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=False)).rstrip()

    click.echo(line(list(headers)))
    click.echo(line(["-" * w for w in widths]))
    for row in data:
        click.echo(line(row))
    if not data:
        click.echo("(none)")


HEADER_ALIASES = {
    "条码": "barcode", "条形码": "barcode", "册条码号": "barcode", "册条码": "barcode",
    "题名": "title", "书名": "title", "正题名": "title",
    "著者": "author", "责任者": "author", "作者": "author",
    "馆藏地": "location", "馆藏地点": "location",
    "读者证号": "card", "证号": "card", "借书证号": "card",
    "姓名": "name", "身份证号": "resident_id", "身份证号码": "resident_id",
    "resident-id": "resident_id", "residentid": "resident_id", "id_number": "resident_id",
    "类型": "item_type", "itemtype": "item_type", "item-type": "item_type",
    "读者类型": "category", "有效期": "expires_on", "expires": "expires_on",
}


def read_csv(path: Path, encoding: str | None) -> list[dict[str, str | None]]:
    """Rows of a CSV file with a header; UTF-8 (with or without BOM) or GB18030 as Excel writes it."""
    data = path.read_bytes()
    if encoding:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise HubError(f"{path} is not readable as {encoding}: {exc}") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                raise HubError(f"{path} is neither UTF-8 nor GB18030; pass --encoding") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise HubError(f"{path} is empty (a header row is needed)")
    names = []
    for name in reader.fieldnames:
        key = unicodedata.normalize("NFKC", name or "").strip().lower()
        names.append(HEADER_ALIASES.get(key, key.replace(" ", "_")))
    reader.fieldnames = names
    return [dict(row) for row in reader]


def require_columns(path: Path, rows: list[dict[str, str | None]], header: Sequence[str], needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in header]
    if missing:
        raise click.UsageError(
            f"{path} has no column {', '.join(missing)} (columns found: {', '.join(header) or 'none'})"
        )


def with_progress(total: int, label: str) -> Any:
    return click.progressbar(length=max(total, 1), label=label, file=sys.stderr, show_pos=True)


def hub_errors(f: F) -> F:
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except HubError as exc:
            raise click.ClickException(exc.message) from None

    return wrapper  # type: ignore[return-value]
