"""``plugins list``: what is installed and which hooks each plugin implements."""

from __future__ import annotations

import click

from ..plugin_manager import describe_plugins
from .app import App, echo_json, echo_table, json_option, pass_app


@click.group()
def plugins() -> None:
    """Installed plugins (branch adapters, normaliser steps, commands)."""


@plugins.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include the built-in plugins.")
@json_option
@pass_app
def plugins_list(app: App, show_all: bool, as_json: bool) -> None:
    """List plugins with their hooks."""
    infos = [p for p in describe_plugins(app.pm) if show_all or not p.builtin]
    if as_json:
        echo_json([p.as_json() for p in infos])
        return
    if not infos and not show_all:
        click.echo("no third-party plugins installed (use --all to see the built-in ones)")
        return
    echo_table(["name", "version", "module", "hooks"],
               [[p.name, p.version or "-", p.module, ", ".join(p.hooks)] for p in infos])
    adapters = app.registries.adapters
    click.echo(f"\nbranch adapters: {', '.join(adapters.ids()) or 'none'}")


COMMANDS = [plugins]
