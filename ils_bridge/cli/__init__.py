"""The ``ils-bridge`` command line for IT staff.

Every domain refusal becomes one clear line on stderr with exit status 1; bad arguments exit 2.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click
from sqlalchemy.exc import DBAPIError, OperationalError

from .. import __version__
from ..errors import HubError
from ..plugin_manager import make_plugin_manager
from ..privacy import MaskingFilter
from .app import App
from .registry import CommandRegistry


class HubGroup(click.Group):
    """A click group that turns domain and database errors into polite one-line refusals."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HubError as exc:
            raise click.ClickException(exc.message) from None
        except OperationalError as exc:
            raise click.ClickException(f"the database cannot be used: {exc.orig}") from None
        except DBAPIError as exc:  # pragma: no cover - last line of defence
            raise click.ClickException(f"database error: {exc.orig}") from None


@click.group(cls=HubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_url",
    envvar="ILS_BRIDGE_DB",
    metavar="URL",
    help="Database URL (SQLAlchemy style), e.g. postgresql://user@host/db. "
    "Default: an SQLite file in the user data directory. [env: ILS_BRIDGE_DB]",
)
@click.option("-v", "--verbose", count=True, help="Log more (repeat for debug).")
@click.version_option(__version__, prog_name="ils-bridge")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, verbose: int) -> None:
    """ils-bridge: one catalogue and circulation ledger for a central library and its branches."""
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    app = ctx.ensure_object(App)
    app.db_url = db_url
    ctx.call_on_close(app.close)


def _add_builtin_commands() -> None:
    from . import (
        branch,
        catalogue,
        codes,
        doctor,
        item,
        location,
        patron,
        plugins,
        policy,
        ranges,
        serve,
        setup,
        sip2,
        terminal,
    )

    for module in (setup, branch, location, ranges, item, catalogue, patron, policy, terminal, serve, sip2, codes, plugins, doctor):
        for command in module.COMMANDS:
            cli.add_command(command)
    from . import copy, z3950  # Z39.50 targets; `catalogue copy` joins the catalogue group

    for command in z3950.COMMANDS:
        cli.add_command(command)
    copy.register(cli)


_add_builtin_commands()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: load plugins, add their commands, run."""
    try:
        pm = make_plugin_manager()
    except Exception as exc:  # a broken third-party plugin must not hide the CLI's own help
        click.echo(f"Error: a plugin failed to load: {exc}", err=True)
        sys.exit(1)
    registry = CommandRegistry(reserved=frozenset(cli.commands))
    try:
        pm.hook.ils_bridge_register_commands(registry=registry)
    except ValueError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    for command in registry.commands.values():
        cli.add_command(command)
    try:
        cli.main(args=argv, prog_name="ils-bridge", obj=App(pm=pm))
    finally:
        for name in registry.commands:
            cli.commands.pop(name, None)
