"""Branch adapters: how the hub reaches the system a township branch runs.

An adapter is a class registered through :func:`ils_bridge.hookspecs.ils_bridge_register_adapters`.
A branch (a row in ``libraries``) names its adapter by id. The registry is a plain typed
container built fresh for every plugin manager.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a branch system is reached (R2): a fixed IP, a fixed domain, or a dynamic IP."""

    kind: str | None  # "fixed-ip" | "domain" | "dynamic" | None (no system of its own)
    host: str | None
    port: int | None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A change a branch system must learn about, written in the same transaction as the change."""

    id: int
    library_code: str
    kind: str
    payload: dict[str, Any]
    idempotency_key: str


@runtime_checkable
class BranchAdapter(Protocol):
    """What every branch adapter provides."""

    id: ClassVar[str]
    description: ClassVar[str]
    #: Whether branches using this adapter need an endpoint (host/port) to be registered.
    needs_endpoint: ClassVar[bool]

    def __init__(self, library_code: str, endpoint: Endpoint) -> None: ...

    async def probe(self) -> ProbeResult:
        """Check that the branch system answers (used by ``ils-bridge doctor --probe``)."""
        ...

    async def deliver(self, message: OutboxMessage) -> None:
        """Deliver one outbox message; raise to have it retried later (idempotency key given)."""
        ...


class AdapterRegistryError(ValueError):
    pass


@dataclass
class AdapterRegistry:
    """Adapter classes by id, with the plugin that registered each."""

    _adapters: dict[str, type[BranchAdapter]] = field(default_factory=dict)

    def add(self, adapter: type[BranchAdapter]) -> None:
        adapter_id = getattr(adapter, "id", None)
        if not isinstance(adapter_id, str) or not adapter_id:
            raise AdapterRegistryError(f"{adapter!r} has no string `id`")
        if adapter_id in self._adapters and self._adapters[adapter_id] is not adapter:
            raise AdapterRegistryError(
                f"two plugins register a branch adapter called {adapter_id!r}"
            )
        self._adapters[adapter_id] = adapter

    def get(self, adapter_id: str) -> type[BranchAdapter] | None:
        return self._adapters.get(adapter_id)

    def __contains__(self, adapter_id: object) -> bool:
        return adapter_id in self._adapters

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._adapters))

    def ids(self) -> list[str]:
        return sorted(self._adapters)
