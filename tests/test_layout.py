"""The dependency direction of the three import packages, and that they are ours."""

from __future__ import annotations

import ast
from pathlib import Path

import ils_bridge
import plugins
import protocols

REPO = Path(__file__).resolve().parents[1]


def imports_of(package: str) -> dict[str, set[str]]:
    """Every module a package's files import (absolute names; relative ones resolved)."""
    out: dict[str, set[str]] = {}
    for path in (REPO / package).rglob("*.py"):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")[: -node.level if path.name != "__init__.py" else len(module.split(".")) - node.level + 1]
                    names.add(".".join([*base, node.module] if node.module else base))
                elif node.module:
                    names.add(node.module)
        out[module] = names
    return out


def test_protocols_import_nothing_of_ours() -> None:
    for module, names in imports_of("protocols").items():
        bad = {n for n in names if n.split(".")[0] in ("ils_bridge", "plugins")}
        assert not bad, f"{module} imports {bad}"


def test_hub_never_imports_plugins_by_module_path() -> None:
    for module, names in imports_of("ils_bridge").items():
        bad = {n for n in names if n.split(".")[0] == "plugins"}
        assert not bad, f"{module} imports {bad}: load plugins through the entry-point group"
    source = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "ils_bridge").rglob("*.py"))
    assert "import_module(\"plugins" not in source and "__import__(\"plugins" not in source


def test_generic_package_names_resolve_to_this_checkout() -> None:
    for package in (ils_bridge, protocols, plugins):
        assert package.__file__ is not None
        assert Path(package.__file__).resolve().parent.parent == REPO, f"{package.__name__} is {package.__file__}"
