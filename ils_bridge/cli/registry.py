"""The typed registry that plugins add CLI commands to."""

from __future__ import annotations

from dataclasses import dataclass, field

import click


@dataclass
class CommandRegistry:
    reserved: frozenset[str] = frozenset()
    commands: dict[str, click.Command] = field(default_factory=dict)

    def add(self, command: click.Command) -> None:
        name = command.name
        if not name:
            raise ValueError("a plugin command needs a name")
        if name in self.reserved or name in self.commands:
            raise ValueError(f"a command called {name!r} already exists")
        self.commands[name] = command
