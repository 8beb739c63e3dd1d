"""A crash while a join link is spent leaves no queued session that nobody holds (both databases)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from rooms.clock import ManualClock
from rooms.desk import CareDesk
from rooms.models import CareSession, UsedJoinToken
from tests.avatar_care.api.care_support import join_token, new_brand


def test_a_crash_between_spending_the_link_and_queueing_leaves_neither(
    client: TestClient, clock: ManualClock
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    desk: CareDesk = client.app.state.desk  # type: ignore[attr-defined]
    link = join_token(brand, clock)

    def crash_on_spend(session: Session, _context: Any, _instances: Any) -> None:
        if any(isinstance(obj, UsedJoinToken) for obj in session.new):
            raise RuntimeError("the process died while spending the link")

    event.listen(desk.sessions, "before_flush", crash_on_spend)
    try:
        with TestClient(client.app, raise_server_exceptions=False) as crashing:
            failed = crashing.post("/api/customer/join", json={"token": link})
    finally:
        event.remove(desk.sessions, "before_flush", crash_on_spend)
    assert failed.status_code == 500
    with desk.sessions() as db:
        assert db.scalars(select(CareSession)).all() == []  # nothing queued for nobody
        assert db.scalars(select(UsedJoinToken)).all() == []  # and the link is not spent
    assert desk.queue(brand.id) == []

    again = client.post("/api/customer/join", json={"token": link})  # the same link works once
    assert again.status_code == 201, again.text
    replay = client.post("/api/customer/join", json={"token": link})
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
    with desk.sessions() as db:
        assert [cs.state for cs in db.scalars(select(CareSession))] == ["queued"]
