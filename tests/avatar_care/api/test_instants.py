"""Every instant the API hands out is in UTC and means what was sent, on SQLite and on a PostgreSQL
server whose own time zone is not UTC (the test cluster runs at +05:30)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi.testclient import TestClient

from rooms.clock import ManualClock
from tests.avatar_care.api.care_support import bearer, join_token, new_brand, operator


def instants(body: Any) -> list[str]:
    """Every string in a JSON body that reads as a date with a time."""
    if isinstance(body, dict):
        return [s for value in body.values() for s in instants(value)]
    if isinstance(body, list):
        return [s for value in body for s in instants(value)]
    if isinstance(body, str) and "T" in body:
        try:
            datetime.fromisoformat(body)
        except ValueError:
            return []
        return [body]
    return []


def test_instants_leave_in_utc_and_a_callback_keeps_its_moment(
    client: TestClient, clock: ManualClock
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    anna = operator(client, brand, "anna")
    talking = client.post("/api/customer/join", json={"token": join_token(brand, clock)}).json()
    assert client.post(f"/api/queue/{talking['session_id']}/accept", headers=bearer(anna)).status_code == 200
    customer = bearer(talking["access_token"])
    assert client.post("/api/customer/chat", json={"text": "Buongiorno"}, headers=customer).status_code == 201
    waiting = client.post("/api/customer/join", json={"token": join_token(brand, clock, sub="c-2")}).json()
    rome = timezone(timedelta(hours=2))
    at = datetime(2026, 3, 3, 10, 30, tzinfo=rome)  # 08:30 UTC, a day after the manual clock's now
    r = client.post(
        "/api/customer/contact-request",
        json={"kind": "callback", "contact": "+39 02 1234", "callback_at": at.isoformat()},
        headers=bearer(waiting["access_token"]),
    )
    assert r.status_code == 201, r.text
    bodies = [
        client.get("/api/queue", headers=bearer(anna)).json(),
        client.get("/api/customer/session", headers=customer).json(),
        client.get(f"/api/sessions/{talking['session_id']}", headers=bearer(anna)).json(),
        client.get("/api/brand/audit", headers=brand.admin).json(),
        client.get("/api/templates", headers=brand.admin).json(),
    ]
    seen = [s for body in bodies for s in instants(body)]
    assert len(seen) >= 8, seen
    offsets = {s: datetime.fromisoformat(s).utcoffset() for s in seen}
    assert all(offset == timedelta(0) for offset in offsets.values()), offsets
    callback = bodies[0]["contact_requests"][0]["callback_at"]
    assert datetime.fromisoformat(callback) == at  # the same moment, not the same wall time in UTC
    assert datetime.fromisoformat(bodies[1]["chat"][0]["at"]) == clock.now().astimezone(UTC)
