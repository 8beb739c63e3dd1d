"""The customer's page in Chromium, in a consultation whose live room runs on a room worker (one API
process and two workers on the test PostgreSQL cluster; the operator an aiortc peer sending the
demo's landmarks and a tone). The room's worker is SIGKILLed: the page reconnects on its own (a new
peer connection, through the same API process, to the other worker) and its avatar moves again
within 10 s, in the same session. Then the other worker dies too: the page waits, saying it is
reconnecting (not that its network blocks the call), and is back on a worker started later."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from avatar_care.core.security import make_join_token
from tests.avatar_care.room_link import RoomLink
from tests.avatar_care.worker_cluster import PASSWORD, cluster, worker_process
from tests.browser.conftest import launch_chromium
from tests.postgres_cluster import PostgresCluster

pytestmark = [pytest.mark.browser, pytest.mark.postgresql]
SLOW_MS = 120_000  # page load and WebGL in software on two shared cores
RESUME_S = 10.0
SESSION_KEY = "avatar-care.customer-session"  # where the customer page keeps its access token


@pytest.fixture(scope="module")
def fake_media_browser() -> Iterator[Browser]:
    """A Chromium whose microphone is the fake device's beeps (the customer page asks for one)."""
    with sync_playwright() as p:
        b = launch_chromium(
            p.chromium, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"
        )
        yield b
        b.close()


class OperatorInThread:
    """The operator's aiortc peer on an event loop of its own (Playwright's sync API holds this one)."""

    def __init__(self, link: RoomLink) -> None:
        self.link = link
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        self.link.start()
        while not self._stop.is_set():
            await asyncio.sleep(0.1)
        await self.link.stop()

    def __enter__(self) -> OperatorInThread:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def test_the_customer_page_reconnects_to_another_worker_after_its_worker_dies(
    fake_media_browser: Browser, tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    with (
        postgres_cluster.database() as url,
        cluster(tmp_path, url, apis=1) as (apis, workers, db, brand_id, key),
    ):
        base = apis[0].base
        with httpx.Client(base_url=base, timeout=30) as http:
            admin = {"X-API-Key": key}
            secret = http.get("/api/brand", headers=admin).json()["join_secret"]
            template = http.post("/api/templates", json={"name": "Lenti", "languages": ["it"]}, headers=admin)
            operator = {"login": "anna", "name": "Anna", "languages": ["it"], "password": PASSWORD}
            assert http.post("/api/operators", json=operator, headers=admin).status_code == 201
            signed = http.post(
                "/api/operators/login", json={"brand_id": brand_id, "login": "anna", "password": PASSWORD}
            )
            token = signed.json()["token"]
            bearer = {"Authorization": f"Bearer {token}"}
            assert http.put(
                "/api/operators/me/presence", json={"presence": "available"}, headers=bearer
            ).is_success
            claims = {
                "brand": brand_id,
                "room": template.json()["id"],
                "sub": "cliente-9",
                "jti": uuid.uuid4().hex,
                "exp": int(time.time()) + 1200,
                "lang": "it",
            }
            page = fake_media_browser.new_context(
                locale="it-IT", viewport={"width": 900, "height": 700}
            ).new_page()
            page.set_default_timeout(SLOW_MS)
            page.goto(f"{base}/app/customer/index.html#token={make_join_token(secret, claims)}")
            deadline = time.monotonic() + 60
            while not (offers := http.get("/api/queue", headers=bearer).json()["offers"]):
                assert time.monotonic() < deadline, "the page's customer was not offered to the operator"
                time.sleep(0.2)
            session_id = next(iter(offers))
            assert http.post(f"/api/queue/{session_id}/accept", headers=bearer).status_code == 200
            page.wait_for_function("window.avatarCare && window.avatarCare.connected", timeout=SLOW_MS)
            access = {"Authorization": f"Bearer {page.evaluate(f'localStorage.getItem({SESSION_KEY!r})')}"}
            before = http.get("/api/customer/session", headers=access).json()
            assert before["session_id"] == session_id
            room_id = before["live_room"]["id"]
            ws = f"{base.replace('http', 'ws', 1)}/ws/rooms/{room_id}"
            with OperatorInThread(RoomLink(ws, {"role": "operator", "token": token}, "operator")):
                received = page.evaluate("window.avatarCare.packetsReceived")
                page.wait_for_function(
                    f"window.avatarCare.packetsReceived > {received + 30}", timeout=SLOW_MS
                )
                victim = next(w for w in workers if w.worker_id == db.placed_on(room_id))
                connections = page.evaluate("window.avatarCare.peerConnections")
                victim.proc.kill()
                killed = time.monotonic()
                page.wait_for_function(
                    f"window.avatarCare.peerConnections > {connections} && window.avatarCare.connected",
                    timeout=RESUME_S * 1000,
                )
                received = page.evaluate("window.avatarCare.packetsReceived")
                left_ms = max(100.0, (RESUME_S - (time.monotonic() - killed)) * 1000)
                page.wait_for_function(
                    f"window.avatarCare.packetsReceived > {received + 10}", timeout=left_ms
                )
                assert time.monotonic() - killed <= RESUME_S
                assert db.placed_on(room_id) != victim.worker_id
                # the last worker dies too: the page waits for one without saying its network
                # blocks the call (the server's retry_ms), and is back on a new worker within 10 s
                # of its start (a blocked page would try again only every 20 s)
                survivor = next(w for w in workers if w.worker_id == db.placed_on(room_id))
                connections = page.evaluate("window.avatarCare.peerConnections")
                survivor.proc.kill()
                time.sleep(8.0)  # beyond the three attempts (0.3 + 1.5 + 4 s) that say "blocked"
                assert page.evaluate("window.avatarCare.connection") == "reconnecting"
                (tmp_path / "late").mkdir()
                with worker_process(tmp_path / "late", url, "late") as late:
                    while late.worker_id not in db.live_workers():
                        time.sleep(0.1)
                    page.wait_for_function(
                        f"window.avatarCare.peerConnections > {connections} && window.avatarCare.connected",
                        timeout=RESUME_S * 1000,
                    )
                    assert db.placed_on(room_id) == late.worker_id
            assert page.evaluate("window.avatarCare.error") is None
            after = http.get("/api/customer/session", headers=access).json()
            assert (after["session_id"], after["state"], after["live_room"]["id"]) == (
                session_id,
                "connected",
                room_id,
            )
            page.context.close()
