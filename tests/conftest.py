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
from typing import Any

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


#: Tests that all run on one worker, one after the other: they drive Chromium and watch motion and
#: voice arrive in real time, and two browsers rendering in software beside each other would starve
#: both. A folder, or a file of the network tests that starts Chromium in a namespace.
ONE_AT_A_TIME = (
    "tests/browser/",
    "tests/network/test_customer_networks.py",
    "tests/network/test_turn_on_443.py",
)


def one_at_a_time(nodeid: str) -> bool:
    return nodeid.startswith(ONE_AT_A_TIME)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist's scheduling for scripts/test.sh's two workers: each file goes whole to one
    worker (a module's fixtures, servers, clusters and clips, are made once), and the tests of
    :data:`ONE_AT_A_TIME` all go to the same worker, first (they take the longest), which runs them
    in turn while the other worker runs the rest. (``--dist loadgroup`` would say the same with
    marks, but its group names do not reach the scheduler under this pytest.)"""
    from xdist.scheduler import LoadScopeScheduling

    class FilesAndOneBrowser(LoadScopeScheduling):  # type: ignore[misc]
        def __init__(self, config: pytest.Config, log: Any) -> None:
            super().__init__(config, log)
            # in the order collected (browser tests first, below), not the largest file first
            config.option.loadscopereorder = False

        def _split_scope(self, nodeid: str) -> str:
            return "one at a time" if one_at_a_time(nodeid) else nodeid.split("::", 1)[0]

    return FilesAndOneBrowser(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker, the tests of :data:`ONE_AT_A_TIME` come first (every worker collects
    the same order), so the scheduler hands them out first."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: not one_at_a_time(item.nodeid))  # stable: the rest keep their order
