"""Chat reaches the pages' queue sockets as the new messages alone: each page gets each message of
its consultations once, in order (customers and the operator writing at once), never one its
snapshot held; a page that reconnects gets the whole chat in its first snapshot, what it missed
included. SQLite and PostgreSQL; a real uvicorn server and real WebSocket clients, every wait
bounded, none asserting a duration."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from fastapi import FastAPI
from fastapi.testclient import TestClient
from websockets.asyncio.client import ClientConnection

from avatar_care.app import create_app
from avatar_care.core.config import Settings
from rooms.clock import ManualClock
from rooms.desk import CareDesk
from tests.avatar_care.api.care_support import BrandSetup, bearer, join_token, new_brand
from tests.avatar_care.api.serving import serving

#: The most any socket is given to deliver what is awaited: a bound, not a timing.
BOUND_S = 30.0
PASSWORD = "correct horse battery"


@dataclass
class Served:
    app: FastAPI
    base: str
    brand: BrandSetup
    clock: ManualClock

    @property
    def ws(self) -> str:
        return self.base.replace("http://", "ws://")


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[Served]:
    app = create_app(Settings(data_dir=tmp_path, database_url=database_url, queue_tick_s=3600))
    clock = ManualClock()
    desk: CareDesk = app.state.desk
    desk.clock = clock
    brand = new_brand(TestClient(app), "Ottica Rossi")  # without the lifespan: the server runs it
    with serving(app) as base:
        yield Served(app, base, brand, clock)
    app.state.engine.dispose()


class Page:
    """A page's queue socket: its snapshots and, in order, every chat message sent to it alone."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.snapshots: list[dict[str, Any]] = []
        self.chat: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, served: Served, who: str, token: str) -> Page:
        ws = await websockets.connect(f"{served.ws}/ws/queue/{who}")
        await ws.send(json.dumps({"type": "auth", "token": token}))
        page = cls(ws)
        await page.read()
        assert page.snapshots and not page.chat, "a socket starts with a snapshot"
        return page

    async def read(self) -> None:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), BOUND_S))
        if message.get("type") == "chat":
            assert message["messages"], "a chat message holds at least one message"
            self.chat.extend(message["messages"])
        else:
            self.snapshots.append(message)

    async def until_chat(self, count: int) -> None:
        """Reads until ``count`` chat messages came alone (snapshots may come between)."""
        while len(self.chat) < count:
            await self.read()


async def http(served: Served, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.base, timeout=BOUND_S) as client:
        return await client.request(method, path, **kwargs)


async def operator_with_customers(served: Served, customers: int) -> tuple[str, list[dict[str, Any]]]:
    """Anna, available for ``customers`` consultations, has accepted that many: her token and the
    customers' joins (session id, access token)."""
    admin = served.brand.admin
    body = {"login": "anna", "name": "Anna", "languages": ["it"], "skills": ["optics"], "capacity": customers}
    assert (
        await http(served, "POST", "/api/operators", json=body | {"password": PASSWORD}, headers=admin)
    ).is_success
    login = {"brand_id": served.brand.id, "login": "anna", "password": PASSWORD}
    anna = (await http(served, "POST", "/api/operators/login", json=login)).json()["token"]
    r = await http(
        served, "PUT", "/api/operators/me/presence", json={"presence": "available"}, headers=bearer(anna)
    )
    assert r.status_code == 200, r.text
    joins = []
    for _ in range(customers):
        r = await http(
            served, "POST", "/api/customer/join", json={"token": join_token(served.brand, served.clock)}
        )
        assert r.status_code == 201, r.text
        joined = r.json()
        r = await http(served, "POST", f"/api/queue/{joined['session_id']}/accept", headers=bearer(anna))
        assert r.status_code == 200, r.text
        joins.append(joined)
    return anna, joins


async def transcript(served: Served, anna: str, session_id: str) -> list[dict[str, Any]]:
    r = await http(served, "GET", f"/api/sessions/{session_id}", headers=bearer(anna))
    assert r.status_code == 200, r.text
    chat: list[dict[str, Any]] = r.json()["chat"]
    return chat


def alone(messages: list[dict[str, Any]]) -> list[tuple[str, int, str, str]]:
    return [(m["session_id"], m["id"], m["sender"], m["text"]) for m in messages]


def stored(session_id: str, messages: list[dict[str, Any]]) -> list[tuple[str, int, str, str]]:
    return [(session_id, m["id"], m["sender"], m["text"]) for m in messages]


def test_each_new_message_reaches_its_pages_once_and_in_order(served: Served) -> None:
    async def scenario() -> None:
        anna, joins = await operator_with_customers(served, 3)
        first = joins[0]
        r = await http(
            served,
            "POST",
            "/api/customer/chat",
            json={"text": "prima"},
            headers=bearer(first["access_token"]),
        )
        assert r.status_code == 201, r.text
        pages = [await Page.open(served, "customer", j["access_token"]) for j in joins]
        panel = await Page.open(served, "operator", anna)
        # what was said before the pages opened is in their snapshots, with its id
        said_before = await transcript(served, anna, first["session_id"])
        assert [m["text"] for m in said_before] == ["prima"]
        assert pages[0].snapshots[0]["chat"] == said_before
        panel_sessions = {s["session_id"]: s["chat"] for s in panel.snapshots[0]["sessions"]}
        assert panel_sessions[first["session_id"]] == said_before

        async def customer_says(joined: dict[str, Any], n: int) -> None:
            for k in range(n):  # one after the other, as a person writes
                body = {"text": f"{joined['session_id'][:6]} cliente {k}"}
                r = await http(
                    served, "POST", "/api/customer/chat", json=body, headers=bearer(joined["access_token"])
                )
                assert r.status_code == 201, r.text

        async def operator_says(joined: dict[str, Any], n: int) -> None:
            for k in range(n):
                body = {"text": f"{joined['session_id'][:6]} operatore {k}"}
                r = await http(
                    served,
                    "POST",
                    f"/api/sessions/{joined['session_id']}/chat",
                    json=body,
                    headers=bearer(anna),
                )
                assert r.status_code == 201, r.text

        # three customers and their operator all writing at once
        await asyncio.gather(*(customer_says(j, 8) for j in joins), *(operator_says(j, 4) for j in joins))
        chats = {j["session_id"]: await transcript(served, anna, j["session_id"]) for j in joins}
        new = {sid: [m for m in chat if m["id"] > said_before[-1]["id"]] for sid, chat in chats.items()}
        assert all(len(messages) == 12 for messages in new.values())
        for page, joined in zip(pages, joins, strict=True):
            await page.until_chat(12)
            # each of its messages once, in order, and nobody else's
            assert alone(page.chat) == stored(joined["session_id"], new[joined["session_id"]])
        await panel.until_chat(36)
        everyone = sorted((m for sid in chats for m in stored(sid, new[sid])), key=lambda message: message[1])
        assert alone(panel.chat) == everyone  # the three consultations' messages, in id order
        ids = [m["id"] for m in panel.chat]
        assert ids == sorted(set(ids))
        # a snapshot sent meanwhile (refresh) held the whole chat up to then, never less
        for snapshot in pages[0].snapshots[1:]:
            assert [m["id"] for m in snapshot["chat"]] == [m["id"] for m in chats[first["session_id"]]][
                : len(snapshot["chat"])
            ]
        for page in [*pages, panel]:
            await page.ws.close()

    asyncio.run(scenario())


def test_a_page_that_reconnects_gets_the_whole_chat_then_only_new_messages(served: Served) -> None:
    async def scenario() -> None:
        anna, [joined] = await operator_with_customers(served, 1)
        customer = bearer(joined["access_token"])
        page = await Page.open(served, "customer", joined["access_token"])
        for text in ("uno", "due"):
            assert (
                await http(served, "POST", "/api/customer/chat", json={"text": text}, headers=customer)
            ).is_success
        await page.until_chat(2)
        await page.ws.close()
        # said while the page was away (a dropped connection, a reload)
        for text in ("tre", "quattro"):
            r = await http(
                served,
                "POST",
                f"/api/sessions/{joined['session_id']}/chat",
                json={"text": text},
                headers=bearer(anna),
            )
            assert r.status_code == 201, r.text
        again = await Page.open(served, "customer", joined["access_token"])
        chat = await transcript(served, anna, joined["session_id"])
        assert [m["text"] for m in chat] == ["uno", "due", "tre", "quattro"]
        assert again.snapshots[0]["chat"] == chat  # the whole chat, what was missed included
        assert (
            await http(served, "POST", "/api/customer/chat", json={"text": "cinque"}, headers=customer)
        ).is_success
        await again.until_chat(1)
        assert [m["text"] for m in again.chat] == ["cinque"]  # only the new one comes alone
        assert again.chat[0]["id"] > chat[-1]["id"]
        await again.ws.close()

    asyncio.run(scenario())
