"""One-time join-token ids under concurrent use: racing spends of one id, and clean-up while others spend."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rooms.brands import create_brand
from rooms.db import make_engine, migrate, session_factory
from rooms.join_tokens import is_spent, spend
from rooms.models import UsedJoinToken

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
RACERS = 8


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def brand_id(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return create_brand(s, "Ottica Rossi")[0].id


def race(sessions: sessionmaker[Session], attempt: Callable[[Session, int], bool]) -> list[bool]:
    """``attempt`` from several threads at once, each on its own session (so its own connection)."""
    start = threading.Barrier(RACERS)

    def one(i: int) -> bool:
        with sessions() as s:
            start.wait(timeout=30)
            return attempt(s, i)

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def test_an_id_is_spent_once_and_then_known(sessions: sessionmaker[Session]) -> None:
    brand = brand_id(sessions)
    later = NOW + timedelta(minutes=10)
    with sessions() as s:
        assert not is_spent(s, brand, "a")
        assert spend(s, brand, "a", later, NOW)
        assert is_spent(s, brand, "a")
        assert not spend(s, brand, "a", later, NOW)
        assert spend(s, brand, "b", later, NOW)  # the session is still usable after a refusal


def test_racing_uses_of_one_id_let_exactly_one_through(sessions: sessionmaker[Session]) -> None:
    brand = brand_id(sessions)
    outcomes = race(sessions, lambda s, _i: spend(s, brand, "copied-link", NOW + timedelta(minutes=10), NOW))
    assert sorted(outcomes) == [False] * (RACERS - 1) + [True]


def test_expired_ids_are_forgotten_while_others_spend_at_the_same_time(
    sessions: sessionmaker[Session],
) -> None:
    brand = brand_id(sessions)
    with sessions() as s:
        for i in range(50):
            assert spend(s, brand, f"old-{i}", NOW + timedelta(minutes=1), NOW)
    later = NOW + timedelta(minutes=5)  # every old id has expired by now
    outcomes = race(sessions, lambda s, i: spend(s, brand, f"new-{i}", later + timedelta(minutes=10), later))
    assert outcomes == [True] * RACERS
    with sessions() as s:
        left = set(s.scalars(select(UsedJoinToken.jti)))
        assert left == {f"new-{i}" for i in range(RACERS)}
        assert s.scalar(select(func.count()).select_from(UsedJoinToken)) == RACERS
