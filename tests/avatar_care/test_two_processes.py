"""Two real servers on one PostgreSQL database serve one queue: a customer queued through one is
offered to an operator signed in on the other, the operator's panel socket on one sees what happens
on the other (a customer joining, a chat message), and when the routing process is killed the other
takes routing over and the next customer is still offered. On SQLite a second server is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from avatar_care.api.routes.queue_ws import REFRESH_S
from avatar_care.core.config import Settings
from avatar_care.core.db import open_database
from avatar_care.core.security import make_join_token
from rooms.brands import create_brand
from tests.postgres_cluster import PostgresCluster
from tests.support import free_port, running_server

#: how long a test waits for something another process does before it fails
PATIENCE_S = 20.0
#: how long the panel's socket is given: less than its refresh without a change (REFRESH_S), so only
#: a change passed on from the other process can wake it in time
SOCKET_PATIENCE_S = REFRESH_S * 0.8


class Server:
    def __init__(self, proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
        self.proc, self.base, self.log = proc, base, log

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def server(data_dir: Path, database_url: str, name: str) -> Iterator[Server]:
    """``avatar-care serve`` on a free port, its output (the log included) in a file."""
    port = free_port()
    log = data_dir / f"{name}.log"
    env = os.environ | {"AVATAR_CARE_DATA_DIR": str(data_dir), "AVATAR_CARE_DATABASE_URL": database_url}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "avatar_care.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, f"server {name} exited:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"server {name} did not come up within 60 s"
                time.sleep(0.2)
        yield Server(proc, base, log)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def eventually(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + PATIENCE_S
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {PATIENCE_S} s: {what}"
        time.sleep(0.1)


def snapshot_until(
    ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """The operator panel's snapshots, read until one shows what is wanted."""
    deadline = time.monotonic() + SOCKET_PATIENCE_S
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"the socket did not show within {SOCKET_PATIENCE_S} s: {what}"
        try:
            view = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            continue
        if wanted(view):
            return view


def _token(brand_id: int, secret: str, room: str, sub: str) -> str:
    exp = int((datetime.now(UTC) + timedelta(minutes=10)).timestamp())
    claims = {"brand": brand_id, "room": room, "sub": sub, "jti": uuid.uuid4().hex, "exp": exp, "lang": "it"}
    return make_join_token(secret, claims)


@pytest.mark.postgresql
def test_two_servers_share_the_queue_and_a_standby_takes_routing_over(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    with postgres_cluster.database() as url:
        engine, sessions = open_database(Settings(data_dir=tmp_path, database_url=url))
        with sessions() as s:
            brand, key = create_brand(s, "Ottica Rossi")
        engine.dispose()
        admin = {"X-API-Key": key}
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        with (
            server(tmp_path / "a", url, "a") as a,
            server(tmp_path / "b", url, "b") as b,
            httpx.Client(base_url=a.base, timeout=10) as on_a,
            httpx.Client(base_url=b.base, timeout=10) as on_b,
        ):
            # a started first, alone on the database: it routes; b is a standby
            assert "this process routes the queue now" in a.log_text()
            assert "this process routes the queue now" not in b.log_text()
            secret = on_a.get("/api/brand", headers=admin).json()["join_secret"]
            room = on_a.post(
                "/api/templates", json={"name": "Occhiali", "languages": ["it"]}, headers=admin
            ).json()
            assert (
                on_a.post(
                    "/api/operators",
                    json={
                        "login": "anna",
                        "name": "Anna",
                        "languages": ["it"],
                        "password": "correct horse battery",
                    },
                    headers=admin,
                ).status_code
                == 201
            )
            token = on_b.post(
                "/api/operators/login",
                json={"brand_id": brand.id, "login": "anna", "password": "correct horse battery"},
            ).json()["token"]
            anna = {"Authorization": f"Bearer {token}"}
            ws_b = b.base.replace("http", "ws", 1)
            with connect(f"{ws_b}/ws/queue/operator") as panel:
                panel.send(json.dumps({"type": "auth", "token": token}))
                snapshot_until(panel, lambda v: v["presence"] == "offline", "the first snapshot")
                assert on_b.put(
                    "/api/operators/me/presence", json={"presence": "available"}, headers=anna
                ).is_success
                snapshot_until(panel, lambda v: v["presence"] == "available", "anna available")

                # Queued through a, offered (by a, the router) to anna, whose panel socket is on b.
                first = on_a.post(
                    "/api/customer/join", json={"token": _token(brand.id, secret, room["id"], "c1")}
                )
                assert first.status_code == 201
                c1 = first.json()
                view = snapshot_until(panel, lambda v: c1["session_id"] in v["offers"], "c1 offered to anna")
                assert [w["session_id"] for w in view["waiting"]] == [c1["session_id"]]
                assert on_b.post(f"/api/queue/{c1['session_id']}/accept", headers=anna).status_code == 200

                # A chat message posted on a reaches the panel's socket on b.
                c1_auth = {"Authorization": f"Bearer {c1['access_token']}"}
                said = on_a.post(
                    "/api/customer/chat", json={"text": "Vorrei provare la Aria"}, headers=c1_auth
                )
                assert said.status_code == 201

                def chat_shown(v: dict[str, Any]) -> bool:
                    if v.get("type") == "chat":  # a new message on its own (avatar_care.api.views)
                        return any(m["text"] == "Vorrei provare la Aria" for m in v["messages"])
                    return any(
                        m["text"] == "Vorrei provare la Aria" for s in v["sessions"] for m in s["chat"]
                    )

                snapshot_until(panel, chat_shown, "the customer's chat message")

                # And the other way: the operator's answer through b reaches the customer's socket on a.
                with connect(f"{a.base.replace('http', 'ws', 1)}/ws/queue/customer") as page:
                    page.send(json.dumps({"type": "auth", "token": c1["access_token"]}))
                    snapshot_until(page, lambda v: v["state"] == "connected", "the customer's first snapshot")
                    answer = {"text": "Certo, eccola"}
                    said = on_b.post(f"/api/sessions/{c1['session_id']}/chat", json=answer, headers=anna)
                    assert said.status_code == 201
                    snapshot_until(
                        page,
                        lambda v: (
                            [m["text"] for m in v["messages"]] == ["Certo, eccola"]
                            if v.get("type") == "chat"
                            else [m["text"] for m in v["chat"]] == ["Vorrei provare la Aria", "Certo, eccola"]
                        ),
                        "the operator's answer at the customer",
                    )
                assert on_b.post(f"/api/sessions/{c1['session_id']}/end", headers=anna).is_success

            # The router is killed: b takes routing over and the next customer is still offered.
            a.proc.kill()
            a.proc.wait()
            eventually(lambda: "this process routes the queue now" in b.log_text(), "b routing")
            second = on_b.post(
                "/api/customer/join", json={"token": _token(brand.id, secret, room["id"], "c2")}
            )
            assert second.status_code == 201
            c2 = second.json()["session_id"]
            eventually(
                lambda: c2 in on_b.get("/api/queue", headers=anna).json()["offers"], "c2 offered to anna"
            )


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_second_server_on_the_same_sqlite_file_is_refused(tmp_path: Path, command: str) -> None:
    """SQLite serves one process: a second one would route on its own queue in memory, and its
    start-up would set the running server's operators offline. It is refused before it starts."""
    with running_server("serve", tmp_path) as (base, _):
        env = os.environ | {"AVATAR_CARE_DATA_DIR": str(tmp_path), "AVATAR_CARE_DATABASE_URL": ""}
        second = subprocess.run(
            [sys.executable, "-m", "avatar_care.cli", command, "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert second.returncode == 2
        assert "another avatar-care server already serves" in second.stderr
        assert "avatar-care.sqlite3" in second.stderr
        assert httpx.get(f"{base}/api/health", timeout=5).status_code == 200  # the first one goes on
    # once the first has stopped, a server starts on the file again
    with running_server(command, tmp_path) as (base, _):
        assert httpx.get(f"{base}/api/health", timeout=5).status_code == 200
