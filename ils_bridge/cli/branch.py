"""``branch add|list|show|set-endpoint|remove``: the libraries of the cluster (R1, R2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..adapters import Endpoint
from ..cluster import Library
from .app import App, echo_json, echo_table, json_option, pass_app


@click.group()
def branch() -> None:
    """The libraries of the cluster: the central library, branches and service points."""


def _endpoint(ip: str | None, domain: str | None, dynamic: bool, port: int | None) -> Endpoint | None:
    chosen = [x for x in (ip, domain) if x] + (["dynamic"] if dynamic else [])
    if len(chosen) > 1 and not (dynamic and ip and not domain):
        raise click.UsageError("give one of --ip, --domain or --dynamic (with --dynamic, --ip is the last known address)")
    if dynamic:
        return Endpoint("dynamic", ip, port)
    if ip:
        return Endpoint("fixed-ip", ip, port)
    if domain:
        return Endpoint("domain", domain.lower().rstrip("."), port)
    if port is not None:
        raise click.UsageError("--port needs --ip, --domain or --dynamic")
    return None


def _endpoint_text(lib: Library) -> str:
    ep = lib.endpoint
    if ep.kind is None:
        return "-"
    where = ep.host or "(not yet reported)"
    port = f":{ep.port}" if ep.port else ""
    return f"{ep.kind} {where}{port}"


endpoint_options = [
    click.option("--ip", help="Fixed IP address of the branch system."),
    click.option("--domain", help="Fixed domain name of the branch system."),
    click.option("--dynamic", is_flag=True, help="The branch has a dynamic public IP (R2)."),
    click.option("--port", type=click.IntRange(1, 65535), help="Port of the branch system."),
]


F = TypeVar("F", bound=Callable[..., Any])


def with_endpoint_options(f: F) -> F:
    for option in reversed(endpoint_options):
        f = option(f)
    return f


@branch.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Display name, e.g. 新塍镇分馆.")
@click.option("--kind", type=click.Choice(["central", "branch", "service-point"]), default="branch", show_default=True)
@click.option("--parent", metavar="CODE", help="Parent library (default: the central library).")
@click.option("--owner-code", metavar="CN-…", help="ISIL-style owner institution code, e.g. CN-330411-B-XT.")
@click.option("--adapter", default="local", show_default=True, help="Branch adapter (see `ils-bridge plugins list --all`).")
@click.option("--opened-on", type=click.DateTime(["%Y-%m-%d"]), help="Opening date (YYYY-MM-DD).")
@click.option("--encoding", default="utf-8", show_default=True, help="Character encoding of the branch system.")
@click.option("--item-range", "item_ranges", multiple=True, metavar="FIRST:LAST",
              help="Item barcodes this library issues, e.g. X0000000:X4999999 (repeatable).")
@click.option("--patron-range", "patron_ranges", multiple=True, metavar="FIRST:LAST",
              help="Reader card numbers this library issues (repeatable).")
@with_endpoint_options
@json_option
@pass_app
def branch_add(
    app: App, code: str, name: str, kind: str, parent: str | None, owner_code: str | None,
    adapter: str, opened_on: dt.datetime | None, encoding: str, item_ranges: tuple[str, ...],
    patron_ranges: tuple[str, ...], ip: str | None, domain: str | None, dynamic: bool, port: int | None,
    as_json: bool,
) -> None:
    """Register a library with code CODE (and its code ranges: refused whole if any overlaps)."""
    ranges = []
    for kind_, specs in (("item", item_ranges), ("patron", patron_ranges)):
        for spec in specs:
            first, sep, last = spec.partition(":")
            if not sep or not first.strip() or not last.strip():
                raise click.BadParameter(f"{spec!r}: give FIRST:LAST, e.g. X0000000:X4999999",
                                         param_hint=f"--{kind_}-range")
            ranges.append((kind_, first, last))
    lib = app.cluster.add_library(
        code, name=name, kind=kind, parent=parent, owner_code=owner_code, adapter=adapter,
        endpoint=_endpoint(ip, domain, dynamic, port), opened_on=opened_on.date() if opened_on else None,
        encoding=encoding, ranges=ranges,
    )
    if as_json:
        echo_json(lib.as_json())
    else:
        click.echo(f"added {lib.kind} {lib.code} {lib.name}" + (f" (parent {lib.parent})" if lib.parent else ""))


@branch.command("list")
@click.option("--all", "include_removed", is_flag=True, help="Include removed libraries.")
@json_option
@pass_app
def branch_list(app: App, include_removed: bool, as_json: bool) -> None:
    """List the libraries of the cluster."""
    libs = app.cluster.list_libraries(include_removed=include_removed)
    if as_json:
        echo_json([lib.as_json() for lib in libs])
        return
    echo_table(
        ["code", "name", "kind", "parent", "owner code", "adapter", "endpoint", "status"],
        [[lib.code, lib.name, lib.kind, lib.parent, lib.owner_code, lib.adapter, _endpoint_text(lib), lib.status]
         for lib in libs],
    )


@branch.command("show")
@click.argument("code")
@json_option
@pass_app
def branch_show(app: App, code: str, as_json: bool) -> None:
    """Show one library with its holdings counts."""
    lib = app.cluster.get_library(code)
    stats = app.cluster.library_stats(code)
    if as_json:
        echo_json({**lib.as_json(), "stats": stats})
        return
    for key, value in [
        ("code", lib.code), ("name", lib.name), ("kind", lib.kind), ("parent", lib.parent or "-"),
        ("owner code", lib.owner_code or "-"), ("adapter", lib.adapter), ("endpoint", _endpoint_text(lib)),
        ("encoding", lib.encoding), ("opened on", lib.opened_on or "-"),
    ] + [(k.replace("_", " "), v) for k, v in stats.items()]:
        click.echo(f"{key:>12}: {value}")


@branch.command("set-endpoint")
@click.argument("code")
@with_endpoint_options
@click.option("--none", "clear", is_flag=True, help="The branch has no system of its own to reach.")
@pass_app
def branch_set_endpoint(
    app: App, code: str, ip: str | None, domain: str | None, dynamic: bool, port: int | None, clear: bool
) -> None:
    """Change where a branch system is reached (a dynamic IP reports its new address here)."""
    ep = Endpoint(None, None, None) if clear else _endpoint(ip, domain, dynamic, port)
    if ep is None:
        raise click.UsageError("give --ip, --domain, --dynamic or --none")
    lib = app.cluster.set_endpoint(code, ep)
    click.echo(f"{lib.code}: endpoint now {_endpoint_text(lib)}")


@branch.command("remove")
@click.argument("code")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def branch_remove(app: App, code: str, yes: bool) -> None:
    """Retire a library that holds no items or patrons. Its codes are never reused."""
    lib = app.cluster.get_library(code)
    if not yes:
        click.confirm(f"Remove {lib.code} {lib.name}? Its codes stay reserved forever", abort=True)
    app.cluster.remove_library(code)
    click.echo(f"removed {lib.code}")


COMMANDS = [branch]
