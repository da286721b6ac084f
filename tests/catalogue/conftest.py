"""Catalogue test helpers: the shared MARC samples and our own small fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "marc"


@pytest.fixture(scope="session")
def samples(shared_dir: Path) -> Path:
    path = shared_dir / "samples" / "marc"
    if not path.is_dir():
        pytest.skip(f"MARC samples directory {path} is absent")
    return path


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES
