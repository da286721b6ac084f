"""Plugins: a fresh manager per test, inline plugins, and a real third-party install."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import click
import pluggy
import pytest

import plugins.local
from ils_bridge import hookimpl, hookspecs
from ils_bridge.adapters import (
    AdapterRegistry,
    AdapterRegistryError,
    Endpoint,
    OutboxMessage,
    ProbeResult,
)
from ils_bridge.cli.registry import CommandRegistry
from ils_bridge.codes import CodeError, Normalisers
from ils_bridge.copycat import CatalogueSourceRegistry, SourceResult, TargetProfile
from ils_bridge.plugin_manager import build_registries, describe_plugins, make_plugin_manager

REPO = Path(__file__).resolve().parents[1]


class KioskAdapter:
    id: ClassVar[str] = "kiosk"
    description: ClassVar[str] = "test adapter"
    needs_endpoint: ClassVar[bool] = False

    def __init__(self, library_code: str, endpoint: Endpoint) -> None:
        self.library_code = library_code

    async def probe(self) -> ProbeResult:
        return ProbeResult(True, "fine")

    async def deliver(self, message: OutboxMessage) -> None:
        return None


class KioskSource:
    kind: ClassVar[str] = "kiosk-books"
    description: ClassVar[str] = "test catalogue source"

    def __init__(self, profile: TargetProfile) -> None:
        self.profile = profile

    async def search(self, pqf: str, *, max_records: int) -> SourceResult:
        return SourceResult(0, (), pqf)


class InlinePlugin:
    """Implements every hookspec: the meta-test below checks that this stays true."""

    @hookimpl
    def ils_bridge_register_adapters(self, registry: AdapterRegistry) -> None:
        registry.add(KioskAdapter)

    @hookimpl
    def ils_bridge_register_normaliser_steps(self, normalisers: Normalisers) -> None:
        normalisers.add_step("barcode", lambda t: t.removeprefix("OLD"), name="drop-old")
        normalisers.add_step("barcode", lambda t: CodeError("barcode", t, "no 13s here", "unlucky")
                             if t.endswith("13") else t, name="no-13", stage="validate")

    @hookimpl
    def ils_bridge_register_commands(self, registry: CommandRegistry) -> None:
        registry.add(click.Command("kiosk-hello", callback=lambda: click.echo("hello")))

    @hookimpl
    def ils_bridge_register_catalogue_sources(self, registry: CatalogueSourceRegistry) -> None:
        registry.add(KioskSource)


def hookspec_names() -> list[str]:
    return [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("ils_bridge_")]


def test_every_hookspec_is_documented_and_exercised() -> None:
    for name in hookspec_names():
        assert (getattr(hookspecs, name).__doc__ or "").strip(), f"{name} has no docstring"
        assert hasattr(InlinePlugin, name), f"{name} is not exercised by InlinePlugin"


def test_fresh_manager_with_an_inline_plugin() -> None:
    pm = make_plugin_manager(entry_points=False, plugins=[(plugins.local, "local"), (InlinePlugin(), "inline")])
    reg = build_registries(pm)
    assert reg.adapters.ids() == ["kiosk", "local"]
    assert reg.normalisers.normalise("barcode", "old x123").value == "X123"  # type: ignore[union-attr]
    refused = reg.normalisers.normalise("barcode", "X13")
    assert isinstance(refused, CodeError) and refused.code == "unlucky"
    names = [n for n, _stage in reg.normalisers.steps("barcode")]
    assert names.index("drop-old") < names.index("check-barcode") < names.index("no-13")
    commands = CommandRegistry(reserved=frozenset({"branch"}))
    pm.hook.ils_bridge_register_commands(registry=commands)
    assert list(commands.commands) == ["kiosk-hello"]
    assert reg.catalogue_sources.kinds() == ["kiosk-books"]
    # Another manager knows nothing of this one's plugins.
    assert "kiosk" not in build_registries(make_plugin_manager(entry_points=False)).adapters


def test_built_ins_load_through_the_entry_point_group() -> None:
    pm = make_plugin_manager()
    infos = {p.name: p for p in describe_plugins(pm)}
    assert infos["local"].module == "plugins.local"
    assert infos["local"].hooks == ["ils_bridge_register_adapters"]
    assert "local" in build_registries(pm).adapters
    assert infos["z3950"].module == "plugins.z3950"
    assert infos["z3950"].hooks == ["ils_bridge_register_catalogue_sources"]
    assert "z3950" in build_registries(pm).catalogue_sources


def test_disabled_plugins_are_not_loaded() -> None:
    pm = make_plugin_manager(disabled=["local"])
    assert "local" not in build_registries(pm).adapters


def test_check_pending_catches_a_misspelt_hook() -> None:
    class Typo:
        @hookimpl
        def ils_bridge_register_adaptors(self, registry: Any) -> None: ...

    with pytest.raises(pluggy.PluginValidationError):
        make_plugin_manager(entry_points=False, plugins=[(Typo(), "typo")])


def test_two_adapters_with_one_id_are_refused() -> None:
    class Clone(KioskAdapter):
        pass

    registry = AdapterRegistry()
    registry.add(KioskAdapter)
    with pytest.raises(AdapterRegistryError, match="kiosk"):
        registry.add(Clone)


def test_command_names_cannot_clash() -> None:
    registry = CommandRegistry(reserved=frozenset({"branch"}))
    with pytest.raises(ValueError, match="branch"):
        registry.add(click.Command("branch"))


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin of docs/, installed with pip into a directory of its own."""
    target = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(REPO / "docs" / "example-plugin")],
        capture_output=True, text=True, timeout=300,
    )
    if proc.returncode != 0:
        pytest.fail(f"pip could not install the example plugin: {proc.stderr[-2000:]}")
    return target


def run_cli(args: list[str], site: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("ILS_BRIDGE_DB", None)
    return subprocess.run([sys.executable, "-m", "ils_bridge", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_installed_third_party_plugin_is_live(installed_example: Path, tmp_path: Path) -> None:
    listed = run_cli(["plugins", "list", "--all", "--json"], installed_example, tmp_path)
    assert listed.returncode == 0, listed.stderr
    plugins_json = {p["name"]: p for p in json.loads(listed.stdout)}
    assert plugins_json["shelfmark"]["version"] == "1.0.0"
    assert plugins_json["shelfmark"]["hooks"] == [
        "ils_bridge_register_adapters", "ils_bridge_register_commands", "ils_bridge_register_normaliser_steps"]
    assert not plugins_json["shelfmark"]["builtin"] and plugins_json["local"]["builtin"]
    norm = run_cli(["codes", "normalise", "barcode", "xc-0001234"], installed_example, tmp_path)
    assert norm.stdout.strip() == "X0001234", norm.stderr
    cmd = run_cli(["shelfmark", "XC0007777"], installed_example, tmp_path)
    assert cmd.stdout.strip() == "X0007777"
    assert run_cli(["init"], installed_example, tmp_path).returncode == 0
    add = run_cli(["branch", "add", "XT", "--name", "新塍", "--adapter", "xincheng-ledger",
                   "--ip", "127.0.0.1", "--port", "6001"], installed_example, tmp_path)
    assert add.returncode == 0, add.stderr
    doctor = run_cli(["doctor", "--probe"], installed_example, tmp_path)
    assert "would reach 127.0.0.1:6001" in doctor.stdout
