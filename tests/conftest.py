"""Fixtures every test folder shares: the database the persistence tests run on, SQLite and PostgreSQL.

A test that takes ``database_url`` runs twice, once on a SQLite file in its temporary folder and
once on a fresh database in the session's throwaway PostgreSQL cluster (started on first use,
stopped at the end). Without PostgreSQL installed those runs fail with how to install it: the claim
that the same code runs on both is only true while both are tested. ``-m "not postgresql"``
deselects them on purpose for a quick local run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres_cluster import PostgresCluster, PostgresMissing, running_cluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    try:
        with running_cluster() as cluster:
            yield cluster
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLAlchemy URL of an empty database of its own (no schema yet: the code under test migrates)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'care.sqlite3'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    with cluster.database() as url:
        yield url
