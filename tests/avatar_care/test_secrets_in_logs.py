"""No secret in any log line: a whole journey against a real ``avatar-care serve``, every line it
writes (uvicorn's access log included) searched for every secret the journey used."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from avatar_care.core.security import make_join_token
from tests.avatar_care.api.https_receiver import Receiver, https_receiver
from tests.support import free_port


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Receiver]:
    """The brand's checkout: an HTTPS receiver on loopback, which the server is told to allow."""
    with https_receiver(tmp_path) as receiver:
        yield receiver


@pytest.fixture
def server(tmp_path: Path, shop: Receiver) -> Iterator[tuple[str, Path, str]]:
    """``avatar-care serve`` with everything it writes going to a file; yields its URL, the file and a brand key."""
    env = os.environ | {
        "AVATAR_CARE_DATA_DIR": str(tmp_path / "data"),
        "AVATAR_CARE_QUEUE_TICK_S": "0.2",
        "AVATAR_CARE_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
        "AVATAR_CARE_WEBHOOK_CA_FILE": shop.ca_file,
    }
    created = subprocess.run(
        [sys.executable, "-m", "avatar_care.cli", "brand", "create", "Ottica Rossi"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    key = re.search(r"api key: (\S+)", created.stdout)
    assert key, created.stdout
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "avatar_care.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield base, log, key.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, (response.request.url.path, response.text)
    return response.json()


def test_a_whole_journey_leaves_no_secret_in_the_log(server: tuple[str, Path, str], shop: Receiver) -> None:
    base, log, api_key = server
    http = httpx.Client(base_url=base, timeout=30)
    admin = {"X-API-Key": api_key}
    brand = ok(http.get("/api/brand", headers=admin))
    ok(http.put("/api/brand/checkout", json={"checkout_url": shop.url}, headers=admin))
    template = ok(http.post("/api/templates", json={"name": "Occhiali", "languages": ["it"]}, headers=admin))
    item = ok(http.post("/api/catalogue", headers=admin, json={
        "name": "Aria", "kind": "image", "media_url": "/x.png", "link": "https://shop.example/a", "price": "1"}))  # fmt: skip
    passwords = {"anna": "Anna's long passphrase 1", "boss": "the supervisor's passphrase 2"}
    tokens = {}
    for login, role in (("anna", "operator"), ("boss", "supervisor")):
        ok(http.post("/api/operators", headers=admin, json={
            "login": login, "name": login.title(), "languages": ["it"], "skills": [], "role": role,
            "password": passwords[login]}))  # fmt: skip
        http.post(
            "/api/operators/login",
            json={"brand_id": brand["id"], "login": login, "password": "wrong " + passwords[login]},
        )
        tokens[login] = ok(http.post("/api/operators/login", json={
            "brand_id": brand["id"], "login": login, "password": passwords[login]}))["token"]  # fmt: skip
        ok(http.put("/api/operators/me/presence", json={"presence": "available"},
                    headers={"Authorization": f"Bearer {tokens[login]}"}))  # fmt: skip
    anna = {"Authorization": f"Bearer {tokens['anna']}"}
    boss = {"Authorization": f"Bearer {tokens['boss']}"}

    claims = {"brand": brand["id"], "room": template["id"], "sub": "customer-42", "jti": uuid.uuid4().hex,
              "exp": int(time.time()) + 600, "name": "Lucia", "lang": "it"}  # fmt: skip
    link_token = make_join_token(brand["join_secret"], claims)
    old_link = make_join_token(brand["join_secret"], claims | {"jti": uuid.uuid4().hex})
    http.get(f"/app/customer/index.html?token={old_link}")  # an old link, token in the query
    http.get(
        f"/app/customer/index.html#token={link_token}"
    )  # today's links: the fragment stays in the browser
    joined = ok(http.post("/api/customer/join", json={"token": link_token}))
    access = joined["access_token"]
    customer = {"Authorization": f"Bearer {access}"}
    ws_base = base.replace("http", "ws")
    with connect(f"{ws_base}/ws/queue/customer") as ws:
        ws.send(json.dumps({"type": "auth", "token": access}))
        assert json.loads(ws.recv(timeout=10))["state"] in ("queued", "offered")
    with connect(f"{ws_base}/ws/queue/operator?token={tokens['anna']}") as ws:  # an old page's way
        ws.send(json.dumps({"type": "auth", "token": tokens["anna"]}))
        ws.recv(timeout=10)
    sid = joined["session_id"]
    deadline = time.monotonic() + 20
    while sid not in ok(http.get("/api/queue", headers=anna))["offers"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    ok(http.post(f"/api/queue/{sid}/accept", headers=anna))
    ok(http.post("/api/customer/chat", json={"text": "Buongiorno"}, headers=customer))
    ok(http.post(f"/api/sessions/{sid}/chat", json={"text": "Salve!"}, headers=anna))
    ok(http.put(f"/api/sessions/{sid}/cart/{item['id']}", json={"quantity": 1}, headers=anna))
    ok(http.get("/api/queue", headers=boss))
    ok(http.post(f"/api/sessions/{sid}/listen", headers=boss))
    assert ok(http.post("/api/customer/checkout", headers=customer)) == {"status": 202}
    http.get(f"/api/customer/session?access_token={access}&key={api_key}")  # secrets pasted in a query
    http.get("/api/customer/session", headers={"Authorization": f"Bearer {access}x"})  # a wrong token
    ok(http.post("/api/customer/leave", headers=customer))
    http.close()
    time.sleep(0.5)  # the last access-log lines

    text = log.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    assert '"POST /api/customer/join HTTP/1.1" 201' in text, text[-2000:]  # the access log was captured
    assert "WebSocket /ws/queue/operator" in text and "/app/customer/index.html?token=[redacted]" in text
    secrets = {
        "API key": api_key, "join secret": brand["join_secret"], "webhook secret": brand["webhook_secret"],
        "join token": link_token, "old join link": old_link, "session access token": access,
        "operator token": tokens["anna"], "supervisor token": tokens["boss"], **{f"{k}'s password": v for k, v in passwords.items()},
    }  # fmt: skip
    secrets["join token's signature"] = link_token.rsplit(".", 1)[-1]  # a token cut short is found too
    found = [(name, line) for line in lines for name, value in secrets.items() if value in line]
    assert not found, found[:5]
    assert len(lines) > 30
