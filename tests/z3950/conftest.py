"""Fixtures: the hub fixtures (both databases) plus a seeded catalogue."""

from __future__ import annotations

import pytest

from ils_bridge.catalogue.store import Catalogue
from ils_bridge.cluster import Cluster
from tests.hub.conftest import cluster, cluster3, db_url, store  # noqa: F401  (fixtures)

from .support import seed_catalogue


@pytest.fixture
def catalogue(cluster3: Cluster) -> Catalogue:  # noqa: F811
    return seed_catalogue(cluster3)
