"""The hooks a plugin can implement.

Registration hooks are synchronous and only *register* things on the typed registry they are
given; the registered objects do the work. A plugin is any module or object with functions
decorated by :data:`hookimpl`, published in the ``ils_bridge`` entry-point group::

    [project.entry-points.ils_bridge]
    my_township = "my_township_plugin"

Built-in plugins (``plugins.local`` …) load through that same group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .adapters import AdapterRegistry
    from .cli.registry import CommandRegistry
    from .codes import Normalisers
    from .copycat.sources import CatalogueSourceRegistry

PROJECT = "ils_bridge"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def ils_bridge_register_adapters(registry: AdapterRegistry) -> None:
    """Register branch adapter classes: ``registry.add(MyAdapter)``.

    A branch adapter connects the hub to one kind of township system (or, for ``local``, to no
    system at all). A branch row names its adapter by ``BranchAdapter.id``; adding a township
    that runs an already-supported system needs no code, only ``ils-bridge branch add``.

    :param registry: the adapter registry of this plugin manager; ids must be unique.
    :returns: nothing; all results are called (not ``firstresult``).
    """


@hookspec
def ils_bridge_register_normaliser_steps(normalisers: Normalisers) -> None:
    """Add steps to the code-normalisation pipelines: ``normalisers.add_step(kind, fn, name=…)``.

    Steps form an ordered stack per code kind (``barcode``, ``card``, ``location`` …): plugin
    steps run after the built-in cleaning and before validation, in registration order (or, with
    ``stage="validate"``, after the built-in validation). A step takes the text and returns the
    new text or a :class:`ils_bridge.codes.CodeError` that says why the input is refused.

    :param normalisers: the pipelines of this plugin manager.
    """


@hookspec
def ils_bridge_register_commands(registry: CommandRegistry) -> None:
    """Register extra ``ils-bridge`` CLI commands: ``registry.add(click_command)``.

    Command names must not clash with the built-in ones or each other.

    :param registry: the command registry of this CLI invocation.
    """


@hookspec
def ils_bridge_register_catalogue_sources(registry: CatalogueSourceRegistry) -> None:
    """Register catalogue sources for copy cataloguing: ``registry.add(MySource)``.

    A catalogue source class (:class:`ils_bridge.copycat.sources.CatalogueSource`) has a
    ``kind`` (unique; ``z3950`` is the built-in generic Z39.50 origin), is built from a target
    profile (``ils-bridge z3950 target add … --kind KIND``) and answers PQF queries with raw
    MARC records; the hub decodes, deduplicates and imports them (``catalogue copy``).

    :param registry: the catalogue source registry of this plugin manager; kinds must be unique.
    :returns: nothing; all results are called (not ``firstresult``).
    """
