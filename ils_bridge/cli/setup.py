"""``init`` (create/upgrade the database) and ``demo`` (a small working cluster)."""

from __future__ import annotations

import click

from ..cluster import secret_check
from ..errors import HubError
from ..secret import load_secret, secret_path
from ..store import migrate
from ..store.engine import describe_url
from .app import App, pass_app


@click.command()
@pass_app
def init(app: App) -> None:
    """Create the database, or upgrade it to this version's schema."""
    store = app.open()
    before, after = migrate.upgrade(store)
    where = describe_url(store.url)
    if before is None:
        click.echo(f"created the cluster database at {where} (schema {after})")
    elif before != after:
        click.echo(f"upgraded the cluster database at {where} from schema {before} to {after}")
    else:
        click.echo(f"the cluster database at {where} is up to date (schema {after})")
    secret = load_secret(create=True)
    problem = secret_check(store, secret, claim=True)
    if problem:
        raise HubError(problem)
    click.echo(f"secret key for identity-number hashes: {secret_path()}")


DEMO_LIBRARIES = [
    # code, name, kind, owner code
    ("CEN", "市图书馆（总馆）", "central", "CN-330400-1-CEN"),
    ("XT", "新塍镇分馆", "branch", "CN-330411-B-XT"),
    ("WZ", "王江泾镇分馆", "branch", "CN-330411-B-WZ"),
]
DEMO_TITLES = [
    ("红楼梦", "曹雪芹", "9787020002207"),
    ("三国演义", "罗贯中", "9787020008728"),
    ("围城", "钱锺书", "9787020090006"),
    ("活着", "余华", "9787506365437"),
    ("平凡的世界", "路遥", "9787530212004"),
]


@click.command()
@pass_app
def demo(app: App) -> None:
    """Set up a small demo cluster: the central library, two township branches, stock, readers.

    Safe to run twice: what exists already is left alone.
    """
    cluster = app.cluster
    existing = {lib.code for lib in cluster.list_libraries()}
    for code, name, kind, oi in DEMO_LIBRARIES:
        if code in existing:
            continue
        cluster.add_library(code, name=name, kind=kind, owner_code=oi)
        cluster.add_location(code, "流通库", name="流通库")
        cluster.add_location(code, "少儿室", name="少儿室")
    if not cluster.list_ranges():
        cluster.add_range("CEN", "item", "C0000000", "C4999999")
        cluster.add_range("XT", "item", "X0000000", "X4999999")
        cluster.add_range("WZ", "item", "W0000000", "W4999999")
        cluster.add_range("CEN", "patron", "P0000000", "P4999999")
    for prefix, lib in (("C", "CEN"), ("X", "XT"), ("W", "WZ")):
        rows = [
            {"barcode": f"{prefix}{n:07d}", "title": t, "author": a, "isbn": i, "location": "流通库"}
            for n, (t, a, i) in enumerate(DEMO_TITLES, start=1)
        ]
        cluster.import_items(rows, library=lib, source="demo")
    cluster.import_patrons(
        [{"card": "P0000001", "name": "张三"}, {"card": "P0000002", "name": "李四"}],
        library="CEN",
        source="demo",
    )
    counts = cluster.overview()
    click.echo(
        "demo cluster ready: {libraries} libraries, {locations} locations, {items} items, "
        "{patrons} patrons".format(**counts)
    )


COMMANDS = [init, demo]
