"""The ``local`` branch adapter: a branch that runs directly on the hub.

A township cultural station that has no library system of its own uses the hub's ledger for
everything (its staff and self-check machines talk to ils-bridge directly), so there is
nothing to reach and nothing to deliver: outbox messages for it are acknowledged at once.
"""

from __future__ import annotations

from typing import ClassVar

from ils_bridge import hookimpl
from ils_bridge.adapters import AdapterRegistry, Endpoint, OutboxMessage, ProbeResult


class LocalAdapter:
    id: ClassVar[str] = "local"
    description: ClassVar[str] = "branch runs directly on the hub (no township system of its own)"
    needs_endpoint: ClassVar[bool] = False

    def __init__(self, library_code: str, endpoint: Endpoint) -> None:
        self.library_code = library_code
        self.endpoint = endpoint

    async def probe(self) -> ProbeResult:
        return ProbeResult(True, "runs on the hub; nothing to reach")

    async def deliver(self, message: OutboxMessage) -> None:
        # The hub's ledger *is* this branch's system: the change is already applied.
        return None


@hookimpl
def ils_bridge_register_adapters(registry: AdapterRegistry) -> None:
    registry.add(LocalAdapter)
