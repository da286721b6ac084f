"""The plugin-manager factory: a fresh manager per process or test, never import-time state."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pluggy

from . import hookspecs
from .adapters import AdapterRegistry
from .codes import Normalisers
from .copycat.sources import CatalogueSourceRegistry

ENTRY_POINT_GROUP = hookspecs.PROJECT
DISABLE_ENV = "ILS_BRIDGE_DISABLE_PLUGINS"


def make_plugin_manager(
    *,
    entry_points: bool = True,
    plugins: Iterable[tuple[object, str]] = (),
    disabled: Iterable[str] | None = None,
) -> pluggy.PluginManager:
    """Build a plugin manager with our hookspecs, the installed plugins and ``plugins``.

    :param entry_points: load every plugin of the ``ils_bridge`` entry-point group (built-ins
        included); tests pass ``False`` to start from nothing.
    :param plugins: extra ``(plugin, name)`` pairs registered after the entry points.
    :param disabled: entry-point names not to load; defaults to the comma-separated list in
        ``ILS_BRIDGE_DISABLE_PLUGINS``.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if disabled is None:
        disabled = [n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()]
    for name in disabled:
        pm.set_blocked(name)
    if entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin, name in plugins:
        pm.register(plugin, name=name)
    pm.check_pending()
    return pm


@dataclass
class Registries:
    """What the registration hooks filled in."""

    adapters: AdapterRegistry
    normalisers: Normalisers
    catalogue_sources: CatalogueSourceRegistry


def build_registries(pm: pluggy.PluginManager) -> Registries:
    adapters = AdapterRegistry()
    pm.hook.ils_bridge_register_adapters(registry=adapters)
    normalisers = Normalisers.default()
    pm.hook.ils_bridge_register_normaliser_steps(normalisers=normalisers)
    catalogue_sources = CatalogueSourceRegistry()
    pm.hook.ils_bridge_register_catalogue_sources(registry=catalogue_sources)
    return Registries(
        adapters=adapters, normalisers=normalisers, catalogue_sources=catalogue_sources
    )


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str | None
    module: str
    hooks: list[str]
    builtin: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "module": self.module,
            "hooks": self.hooks,
            "builtin": self.builtin,
        }


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Name, distribution version, module and implemented hooks of every registered plugin."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    out: list[PluginInfo] = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        dist: Any = dists.get(id(plugin))
        version = None
        if dist is not None:
            version = dist.version
        module = getattr(plugin, "__name__", type(plugin).__name__)
        builtin = module.startswith("plugins.") or module.startswith("ils_bridge.")
        out.append(PluginInfo(name, version, module, hooks, builtin))
    return sorted(out, key=lambda p: p.name)


def distribution_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
