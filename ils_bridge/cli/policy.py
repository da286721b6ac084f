"""``policy set|show|list`` and ``holiday add|remove|list``: circulation rules per library.

Rules inherit: (library, item type) → (library, *) → (central library, …) → (*, …) → built-in
defaults; a setting left unset inherits from the next rule in that order.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from ..circulation import Circulation
from ..errors import InvalidInput
from ..policies import RETURN_POLICIES, SETTINGS
from ..secret import load_secret
from .app import App, echo_json, echo_table, json_option, pass_app


def _circulation(app: App) -> Circulation:
    return Circulation(app.store, normalisers=app.registries.normalisers, secret=load_secret(create=False))


@click.group()
def policy() -> None:
    """Circulation rules: loan periods, renewals, limits, fines, return/float policy."""


@policy.command("set")
@click.argument("library")
@click.option("--item-type", default="*", show_default=True, help="Item type the rule is for; * for any.")
@click.option("--loan-days", type=int)
@click.option("--renewals-max", type=int)
@click.option("--renewal-days", type=int)
@click.option("--max-loans", type=int)
@click.option("--max-overdues", type=int)
@click.option("--max-fines", "max_fines_yuan", type=float, help="Block borrowing above this many yuan of fines.")
@click.option("--fine-per-day", "fine_per_day_yuan", type=float, help="Overdue fine per day, in yuan.")
@click.option("--hold-shelf-days", type=int)
@click.option("--return-policy", type=click.Choice(RETURN_POLICIES))
@click.option("--float-group", help="Items float among libraries of the same group (with --return-policy float).")
@click.option("--double-scan-seconds", type=int)
@click.option("--unset", multiple=True, type=click.Choice(SETTINGS), help="Clear a setting so it inherits.")
@pass_app
def policy_set(app: App, /, library: str, item_type: str, unset: tuple[str, ...], max_fines_yuan: float | None,
               fine_per_day_yuan: float | None, **settings: Any) -> None:
    """Set rules for LIBRARY (a library code, or * for the whole cluster)."""
    values = {k: v for k, v in settings.items() if v is not None}
    if max_fines_yuan is not None:
        values["max_fines_cents"] = round(max_fines_yuan * 100)
    if fine_per_day_yuan is not None:
        values["fine_per_day_cents"] = round(fine_per_day_yuan * 100)
    for key in unset:
        values[key] = None
    if not values:
        raise click.UsageError("give at least one setting, e.g. --loan-days 30")
    _circulation(app).set_policy(library, item_type, **values)
    click.echo(f"rules for {library.strip().upper()} / {item_type}: "
               + ", ".join(f"{k}={'(inherit)' if v is None else v}" for k, v in values.items()))


@policy.command("show")
@click.argument("library")
@click.option("--item-type", default="book", show_default=True)
@json_option
@pass_app
def policy_show(app: App, library: str, item_type: str, as_json: bool) -> None:
    """The rules in force for LIBRARY's items of one type, and where each value comes from."""
    p = _circulation(app).effective_policy(library, item_type)
    values = {k: getattr(p, k) for k in SETTINGS}
    if as_json:
        echo_json({"library": p.library, "item_type": p.item_type, **values, "origin": dict(p.origin)})
        return
    echo_table(["setting", "value", "from"], [[k, v, p.origin.get(k, "")] for k, v in values.items()])


@policy.command("list")
@json_option
@pass_app
def policy_list(app: App, as_json: bool) -> None:
    """Every rule row."""
    rows = _circulation(app).list_policies()
    if as_json:
        echo_json(rows)
        return
    echo_table(["library", "item type", "set"], [
        [r["library"], r["item_type"], ", ".join(f"{k}={v}" for k, v in r.items()
                                                   if k not in ("library", "item_type") and v is not None)]
        for r in rows])


@click.group()
def holiday() -> None:
    """Closed days: due dates that fall on them move to the next open day."""


@holiday.command("add")
@click.argument("library")
@click.argument("day", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--name", help="e.g. 春节")
@pass_app
def holiday_add(app: App, library: str, day: dt.datetime, name: str | None) -> None:
    """Close LIBRARY (or * for every library) on DAY (YYYY-MM-DD)."""
    _circulation(app).add_holiday(library, day.date(), name)
    click.echo(f"{library.strip().upper()} closed on {day:%Y-%m-%d}" + (f" ({name})" if name else ""))


@holiday.command("remove")
@click.argument("library")
@click.argument("day", type=click.DateTime(["%Y-%m-%d"]))
@pass_app
def holiday_remove(app: App, library: str, day: dt.datetime) -> None:
    """Open LIBRARY again on DAY."""
    if not _circulation(app).remove_holiday(library, day.date()):
        raise InvalidInput(f"{library.strip().upper()} was not closed on {day:%Y-%m-%d}")
    click.echo(f"{library.strip().upper()} open on {day:%Y-%m-%d}")


@holiday.command("list")
@click.option("--library")
@json_option
@pass_app
def holiday_list(app: App, library: str | None, as_json: bool) -> None:
    """List closed days."""
    rows = _circulation(app).list_holidays(library)
    if as_json:
        echo_json(rows)
        return
    echo_table(["library", "day", "name"], [[r.get("library"), r.get("day"), r.get("name")] for r in rows])


@click.group()
def holds() -> None:
    """Hold-shelf housekeeping."""


@holds.command("expire")
@click.argument("library")
@json_option
@pass_app
def holds_expire(app: App, library: str, as_json: bool) -> None:
    """Expire uncollected holds on LIBRARY's hold shelf; lists the books to take off it.

    Run it daily (cron). Scanning each listed book (check-in) gives it to the next hold or
    sends it home.
    """
    from ..circulation import Ctx

    code = library.strip().upper()
    circulation = _circulation(app)
    if not circulation.library_exists(code):
        raise InvalidInput(f"no library with code {code} (see `ils-bridge branch list`)")
    barcodes = circulation.expire_holds(Ctx(library=code, terminal="cli"))
    if as_json:
        echo_json({"library": code, "expired": barcodes})
        return
    if not barcodes:
        click.echo(f"no expired holds on the {code} hold shelf")
        return
    click.echo(f"take these {len(barcodes)} books off the {code} hold shelf and check them in:")
    for barcode in barcodes:
        click.echo(f"  {barcode}")


COMMANDS = [policy, holiday, holds]
