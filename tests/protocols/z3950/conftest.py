"""Fixtures for the Z39.50 tests: the captured YAZ PDUs and the asn1tools oracle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def z3950_dir(shared_dir: Path) -> Path:
    path = shared_dir / "standards" / "z3950"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def captures(z3950_dir: Path) -> dict[str, bytes]:
    """``{"ztest-basic/d.001": bytes, …}``: the 36 PDUs captured from yaz-client ↔ yaz-ztest."""
    files = sorted((z3950_dir / "captures").glob("*/*.raw"))
    return {f"{p.parent.name}/{p.stem}": p.read_bytes() for p in files}


@pytest.fixture(scope="session")
def asn1_spec(z3950_dir: Path) -> Any:
    """asn1tools compiled from the patched Z39.50 ASN.1: an independent BER codec."""
    asn1tools = pytest.importorskip("asn1tools")
    return asn1tools.compile_files(
        [str(z3950_dir / "z3950v3.asn1tools.asn"), str(z3950_dir / "charneg-3.asn1tools.asn")],
        "ber",
    )
