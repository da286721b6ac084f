"""ils-bridge: one catalogue and circulation ledger for a central library and its branches.

Plugin authors need only::

    from ils_bridge import hookimpl

and the registry types passed to the registration hooks (see :mod:`ils_bridge.hookspecs`).
"""

from __future__ import annotations

from .hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
