"""The ``z3950`` catalogue source: copy cataloguing from any Z39.50 target.

A target profile (``ils-bridge z3950 target add NAME HOST:PORT/DB --syntax unimarc
--record-encoding gb18030 --term-encoding gb18030``) says where the target is and which
charsets it really uses; the source itself (:class:`ils_bridge.copycat.z3950.Z3950Source`) is
a plain Z39.50 origin: Init (with charset negotiation when the profile asks for it), Search,
Present, Close, each step within the profile's timeout.
"""

from __future__ import annotations

from ils_bridge import hookimpl
from ils_bridge.copycat.sources import CatalogueSourceRegistry
from ils_bridge.copycat.z3950 import Z3950Source

__all__ = ["Z3950Source", "ils_bridge_register_catalogue_sources"]


@hookimpl
def ils_bridge_register_catalogue_sources(registry: CatalogueSourceRegistry) -> None:
    registry.add(Z3950Source)
