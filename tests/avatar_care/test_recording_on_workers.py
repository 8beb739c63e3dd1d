"""A consultation on a room worker, seen from the API process: the customer answers and the operator
pauses through the API process, and the worker, which runs the room and its recorder, follows both
from the database (the desk's changes reach it by NOTIFY); the API process's ``/metrics`` shows the
worker's live room. Real processes on the test PostgreSQL cluster."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from avatar_care.live.ice import use_loopback_only
from rooms.models import Recording
from tests.avatar_care.room_link import RoomLink
from tests.avatar_care.worker_cluster import Consultation, Database, cluster, open_consultation
from tests.postgres_cluster import PostgresCluster

#: how long a change made through the API process is given to reach the worker's recorder
FOLLOW_S = 15.0
PAUSE_S = 4.0
METRICS_TOKEN = "m3tr1cs-on-workers"


async def until(check: Callable[[], bool], what: str, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, f"not within {within_s} s: {what}"
        await asyncio.sleep(0.1)


@pytest.mark.postgresql
def test_consent_and_pause_given_through_the_api_reach_the_recorder_on_the_worker(
    tmp_path: Path, postgres_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVATAR_CARE_METRICS_TOKEN", METRICS_TOKEN)  # the processes' environment
    with (
        postgres_cluster.database() as url,
        cluster(tmp_path, url, apis=1, workers=1) as (
            apis,
            _workers,
            db,
            brand_id,
            key,
        ),
    ):
        c = open_consultation(apis[0].base, brand_id, key, settings={"recording": "ask"})
        use_loopback_only()
        try:
            asyncio.run(_recorded(apis[0].base, db, c))
        finally:
            use_loopback_only(False)


def _rows(db: Database, session_id: str) -> list[Recording]:
    with db.sessions() as s:
        return list(s.scalars(select(Recording).where(Recording.session_id == session_id)))


def _customers_on_metrics(base: str) -> float:
    """Customers receiving motion, over every process /metrics lists (the API process runs none)."""
    text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "avatar_care_customers"
    )


async def _recorded(base: str, db: Database, c: Consultation) -> None:
    ws = f"{base.replace('http', 'ws', 1)}/ws/rooms/{c.room_id}"
    operator = RoomLink(ws, {"role": "operator", "token": c.operator_token}, "operator")
    customer = RoomLink(ws, {"role": "customer", "token": c.customer_token}, "customer")
    operator.start()
    customer.start()
    customer_auth = {"Authorization": f"Bearer {c.customer_token}"}
    operator_auth = {"Authorization": f"Bearer {c.operator_token}"}
    try:
        start = time.monotonic()
        await until(lambda: customer.heard.motion_after(start) >= 30, "motion at the customer", 60)
        # the room runs on the worker; the API process's /metrics lists its figures
        await until(lambda: _customers_on_metrics(base) >= 1, "the worker's room on /metrics", FOLLOW_S)
        # nothing is recorded before the customer consents
        assert _rows(db, c.session_id) == []
        async with httpx.AsyncClient(base_url=base, timeout=20) as http:
            said = await http.post(
                "/api/customer/recording-consent", json={"given": True}, headers=customer_auth
            )
            assert said.status_code == 200, said.text
            await until(lambda: len(_rows(db, c.session_id)) == 1, "the worker started recording", FOLLOW_S)
            started = time.monotonic()
            await asyncio.sleep(2)
            paused = await http.post(f"/api/sessions/{c.session_id}/recording/pause", headers=operator_auth)
            assert paused.status_code == 200, paused.text
            await asyncio.sleep(PAUSE_S)
            resumed = await http.post(f"/api/sessions/{c.session_id}/recording/resume", headers=operator_auth)
            assert resumed.status_code == 200, resumed.text
            await asyncio.sleep(2)
            withdrawn = await http.post(
                "/api/customer/recording-consent", json={"given": False}, headers=customer_auth
            )
            assert withdrawn.status_code == 200, withdrawn.text
            await until(
                lambda: all(r.ended_at is not None for r in _rows(db, c.session_id)),
                "the worker stopped recording when consent was withdrawn",
                FOLLOW_S,
            )
            wall = time.monotonic() - started
        (rec,) = _rows(db, c.session_id)
        # the pause left its seconds out: the worker followed the operator's pause and resume
        assert 0 < rec.duration_s < wall - PAUSE_S / 2, (rec.duration_s, wall)
        assert rec.motion_packets > 0
    finally:
        await asyncio.gather(customer.stop(), operator.stop())
