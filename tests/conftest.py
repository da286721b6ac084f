"""Shared test configuration: hypothesis profiles and the ``../shared`` data directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent

# `dev` explores more; `ci` is fast and deterministic (derandomised, no database of examples).
settings.register_profile("dev", max_examples=200, deadline=None)
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def shared_path() -> Path:
    """The standards and samples directory beside the checkout (``../shared``)."""
    return Path(os.environ.get("ILS_BRIDGE_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = shared_path()
    if not path.is_dir():
        pytest.skip(f"shared data directory {path} is absent (set ILS_BRIDGE_SHARED to point at it)")
    return path
