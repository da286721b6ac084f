"""An example ils-bridge plugin, complete and tiny.

A township (新塍, code XT) printed its old labels as ``XC-0001234``; the cluster issues the
same books as ``X0001234``. This plugin teaches the barcode pipeline to read old labels,
registers a branch adapter for the township's (imaginary) ledger over HTTP, and adds an
``ils-bridge shelfmark`` command.
"""

from __future__ import annotations

import re
from typing import ClassVar

import click

from ils_bridge import hookimpl
from ils_bridge.adapters import AdapterRegistry, Endpoint, OutboxMessage, ProbeResult
from ils_bridge.cli.registry import CommandRegistry
from ils_bridge.codes import CodeError, CodeKind, Normalisers

_OLD_LABEL = re.compile(r"^XC-?(\d{7})$")


def old_xincheng_label(text: str) -> str | CodeError:
    """``XC-0001234`` (legacy label) → ``X0001234`` (cluster barcode)."""
    m = _OLD_LABEL.match(text)
    return f"X{m.group(1)}" if m else text


class XinchengLedgerAdapter:
    id: ClassVar[str] = "xincheng-ledger"
    description: ClassVar[str] = "新塍's own circulation ledger (example)"
    needs_endpoint: ClassVar[bool] = True

    def __init__(self, library_code: str, endpoint: Endpoint) -> None:
        self.library_code = library_code
        self.endpoint = endpoint

    async def probe(self) -> ProbeResult:
        return ProbeResult(True, f"would reach {self.endpoint.host}:{self.endpoint.port}")

    async def deliver(self, message: OutboxMessage) -> None:
        return None


@hookimpl
def ils_bridge_register_normaliser_steps(normalisers: Normalisers) -> None:
    normalisers.add_step(CodeKind.BARCODE, old_xincheng_label, name="xincheng-old-labels")


@hookimpl
def ils_bridge_register_adapters(registry: AdapterRegistry) -> None:
    registry.add(XinchengLedgerAdapter)


@click.command("shelfmark")
@click.argument("label")
def shelfmark(label: str) -> None:
    """Show which cluster barcode an old 新塍 label stands for."""
    click.echo(old_xincheng_label(label.strip().upper()))


@hookimpl
def ils_bridge_register_commands(registry: CommandRegistry) -> None:
    registry.add(shelfmark)
