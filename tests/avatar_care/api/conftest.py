"""The care app the API tests share: a real app on the parametrized database, its desk on a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from avatar_care.app import create_app
from avatar_care.core.config import Settings
from rooms.clock import ManualClock
from rooms.desk import CareDesk


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def client(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path, database_url=database_url, queue_tick_s=3600))
    desk: CareDesk = app.state.desk
    desk.clock = clock
    with TestClient(app) as c:
        yield c
    app.state.engine.dispose()
