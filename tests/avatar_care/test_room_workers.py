"""Live rooms on room workers: two API processes and two workers as real processes on the test
PostgreSQL cluster. A customer (signaling through one API process) and the operator (through the
other) get motion and voice from the room's worker; that worker is killed with SIGKILL; both
reconnect on their own to the same session, through a live worker, and get motion and voice again
within 10 s. The customer's session (its chat) is intact."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from avatar_care.live.ice import use_loopback_only
from tests.avatar_care.room_link import RoomLink
from tests.avatar_care.worker_cluster import (
    Consultation,
    Database,
    Process,
    api_process,
    cluster,
    open_consultation,
)
from tests.postgres_cluster import PostgresCluster

#: the bound asked of failover: worker death to motion and voice again at the customer and the operator
RESUME_S = 10.0
#: how long the first connection is given (starting peers on a loaded machine)
FIRST_S = 30.0


async def until(check: Callable[[], bool], what: str, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, f"not within {within_s} s: {what}"
        await asyncio.sleep(0.05)


def ws_url(base: str, room_id: str) -> str:
    return f"{base.replace('http', 'ws', 1)}/ws/rooms/{room_id}"


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "how", [signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP], ids=["killed", "stopped", "frozen"]
)
def test_a_killed_workers_room_resumes_on_another_worker_in_the_same_session(
    tmp_path: Path, postgres_cluster: PostgresCluster, how: signal.Signals
) -> None:
    """SIGKILL: no goodbye; SIGTERM: the worker closes its sockets with 1012 and leaves the registry
    (a worker stopped for an upgrade); SIGSTOP: its sockets stay open but nothing answers, as when
    its machine drops off the network (the relay's pings and its heartbeat tell). Every way, the
    pages go on elsewhere, not told their consultation ended."""
    with postgres_cluster.database() as url, cluster(tmp_path, url) as (apis, workers, db, brand_id, key):
        c = open_consultation(apis[0].base, brand_id, key)
        auth = {"Authorization": f"Bearer {c.customer_token}"}
        said = httpx.post(f"{apis[0].base}/api/customer/chat", json={"text": "Vorrei la Aria"}, headers=auth)
        assert said.status_code == 201, said.text
        use_loopback_only()
        try:
            asyncio.run(_failover(apis, workers, db, c, how))
        finally:
            use_loopback_only(False)
        # the same session, still connected, its chat intact, through either API process
        for api in apis:
            session = httpx.get(f"{api.base}/api/customer/session", headers=auth, timeout=10).json()
            assert session["session_id"] == c.session_id
            assert session["state"] == "connected"
            assert [m["text"] for m in session["chat"]] == ["Vorrei la Aria"]
            assert session["live_room"]["id"] == c.room_id


async def _failover(
    apis: list[Process], workers: list[Process], db: Database, c: Consultation, how: signal.Signals
) -> None:
    operator = RoomLink(
        ws_url(apis[1].base, c.room_id), {"role": "operator", "token": c.operator_token}, "operator"
    )
    customer = RoomLink(
        ws_url(apis[0].base, c.room_id), {"role": "customer", "token": c.customer_token}, "customer"
    )
    operator.start()
    customer.start()
    try:
        start = time.monotonic()
        for who, link in (("customer", customer), ("operator", operator)):
            await until(
                lambda link=link: link.heard.motion_after(start) >= 30, f"motion at the {who}", FIRST_S
            )
            await until(lambda link=link: link.heard.voice_after(start) >= 25, f"voice at the {who}", FIRST_S)
        # both landed on the worker the room is placed on, the same one
        first = db.placed_on(c.room_id)
        victim = next(w for w in workers if w.worker_id == first)
        survivor = next(w for w in workers if w.worker_id != first)
        assert f"live room {c.room_id} opened" in victim.log_text()
        before = {"customer": customer.connection, "operator": operator.connection}
        victim.proc.send_signal(how)
        killed = time.monotonic()
        for who, link in (("customer", customer), ("operator", operator)):
            await until(
                lambda link=link, who=who: link.heard.motion_after(killed, before[who]) >= 10,
                f"motion again at the {who} after the worker's death",
                RESUME_S,
            )
            await until(
                lambda link=link, who=who: link.heard.voice_after(killed, before[who]) >= 10,
                f"voice again at the {who} after the worker's death",
                max(0.1, RESUME_S - (time.monotonic() - killed)),
            )
        resumed = time.monotonic() - killed
        assert resumed <= RESUME_S
        # the room moved to the live worker; both joined again (a new connection each), same session
        assert db.placed_on(c.room_id) == survivor.worker_id
        assert customer.connection > before["customer"] and operator.connection > before["operator"]
        # noticed: the dead worker's heartbeat is stale (or its row gone) within 5 s of its death
        await until(
            lambda: victim.worker_id not in db.live_workers(),
            "the dead worker noticed",
            max(0.1, 5.0 - (time.monotonic() - killed)),
        )
        if how == signal.SIGSTOP:
            victim.proc.kill()  # a frozen process ends only this way
    finally:
        await asyncio.gather(customer.stop(), operator.stop())


@pytest.mark.postgresql
def test_an_api_process_killed_loses_nothing_while_the_other_serves(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    """The API process relaying the customer's signaling is SIGKILLed: the room on its worker goes on,
    the operator (through the other API process) is not disturbed, and the customer joins again
    through the other one (as a load balancer would send it) and gets motion and voice again."""
    with postgres_cluster.database() as url, cluster(tmp_path, url) as (apis, _workers, db, brand_id, key):
        c = open_consultation(apis[1].base, brand_id, key)
        auth = {"Authorization": f"Bearer {c.customer_token}"}
        said = httpx.post(f"{apis[1].base}/api/customer/chat", json={"text": "Vorrei la Aria"}, headers=auth)
        assert said.status_code == 201, said.text
        use_loopback_only()
        try:
            asyncio.run(_api_dies(apis, db, c))
        finally:
            use_loopback_only(False)
        session = httpx.get(f"{apis[1].base}/api/customer/session", headers=auth, timeout=10).json()
        assert (session["session_id"], session["state"]) == (c.session_id, "connected")
        assert [m["text"] for m in session["chat"]] == ["Vorrei la Aria"]


async def _api_dies(apis: list[Process], db: Database, c: Consultation) -> None:
    urls = [ws_url(api.base, c.room_id) for api in apis]
    operator = RoomLink(urls[1], {"role": "operator", "token": c.operator_token}, "operator")
    customer = RoomLink(urls, {"role": "customer", "token": c.customer_token}, "customer")
    operator.start()
    customer.start()
    try:
        start = time.monotonic()
        for who, link in (("customer", customer), ("operator", operator)):
            await until(
                lambda link=link: link.heard.motion_after(start) >= 30, f"motion at the {who}", FIRST_S
            )
            await until(lambda link=link: link.heard.voice_after(start) >= 25, f"voice at the {who}", FIRST_S)
        placed = db.placed_on(c.room_id)
        on_customer = customer.connection
        apis[0].proc.kill()
        killed = time.monotonic()
        await until(
            lambda: customer.heard.motion_after(killed, on_customer) >= 10,
            "motion again at the customer",
            RESUME_S,
        )
        await until(
            lambda: customer.heard.voice_after(killed, on_customer) >= 10,
            "voice again at the customer",
            max(0.1, RESUME_S - (time.monotonic() - killed)),
        )
        await until(
            lambda: operator.heard.voice_after(killed) >= 10, "the operator hears the customer again", 5.0
        )
        # the room stayed where it was; the operator's connection was never lost
        assert db.placed_on(c.room_id) == placed
        assert operator.connection == 1 and not operator.heard.ended
        assert operator.heard.motion_after(killed) > 0
    finally:
        await asyncio.gather(customer.stop(), operator.stop())


def _join(base: str, room_id: str, join: dict[str, str]) -> tuple[list[dict[str, object]], int | None]:
    """The messages a join gets until the socket closes, and the close code."""
    messages: list[dict[str, object]] = []
    # a refusal may come before the join is read: sending it may find the socket closed, and what
    # the server said before it closed is still to be read (skipping it lost the "retrying" error
    # once, in a full test run)
    with connect(ws_url(base, room_id), open_timeout=10) as ws:
        with contextlib.suppress(ConnectionClosed):
            ws.send(json.dumps({"type": "join", **join}))
        with contextlib.suppress(ConnectionClosed):
            while True:
                messages.append(json.loads(ws.recv(timeout=15)))
    return messages, ws.close_code


@pytest.mark.postgresql
def test_refusals_pass_through_the_relay_and_with_no_live_worker_the_page_is_told_to_retry(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    with (
        postgres_cluster.database() as url,
        cluster(tmp_path, url, apis=1, workers=1) as (apis, workers, db, brand_id, key),
    ):
        c = open_consultation(apis[0].base, brand_id, key)
        # the worker refuses an unknown token; its message and close code reach the page as they are
        messages, code = _join(apis[0].base, c.room_id, {"role": "customer", "token": "not-a-token"})
        assert code == 4401 and messages[-1]["code"] == 4401, messages
        assert db.placed_on(c.room_id) == workers[0].worker_id
        # no such room: refused by the API process itself, nothing placed
        messages, code = _join(apis[0].base, "lr-nothing-here", {"role": "customer", "token": "x"})
        assert code == 4404 and db.placed_on("lr-nothing-here") is None
        # a consultation ended through the API process: the worker (told by the database's
        # notification) lets its customer go, and the page hears it through the relay
        # (anna's one seat is taken: the second customer is offered to bruno)
        other = open_consultation(apis[0].base, brand_id, key, login="bruno")
        with connect(ws_url(apis[0].base, other.room_id), open_timeout=10) as ws:
            ws.send(json.dumps({"type": "join", "role": "customer", "token": other.customer_token}))
            assert json.loads(ws.recv(timeout=15))["type"] == "joined"
            bearer = {"Authorization": f"Bearer {other.operator_token}"}
            ended = httpx.post(
                f"{apis[0].base}/api/sessions/{other.session_id}/end", headers=bearer, timeout=10
            )
            assert ended.is_success, ended.text
            left = json.loads(ws.recv(timeout=15))
            assert left["type"] == "left", left
            with contextlib.suppress(ConnectionClosed):
                ws.recv(timeout=15)
            assert ws.close_code == 1000
        # the only worker dies: a join is told to try again (an error without a refusal's code,
        # which the page would take as final) and closed with 1013
        workers[0].proc.kill()
        workers[0].proc.wait()
        messages, code = _join(apis[0].base, c.room_id, {"role": "customer", "token": c.customer_token})
        assert code == 1013, (code, messages)
        assert messages == [
            {"type": "error", "message": "no room server can take this room now; retrying", "retry_ms": 1000}
        ]


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


@pytest.mark.postgresql
def test_serve_starts_its_workers_starts_a_dead_one_again_and_stops_them(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    with postgres_cluster.database() as url:
        db = Database(tmp_path, url)
        try:
            with api_process(tmp_path, url, "api", "--workers", "2") as api:
                deadline = time.monotonic() + 60
                while len(first := db.live_workers()) < 2:
                    assert time.monotonic() < deadline, f"two workers not live within 60 s:\n{api.log_text()}"
                    time.sleep(0.2)
                children = _children(api.proc.pid)
                assert len(children) == 2
                victim = min(children)
                os.kill(victim, signal.SIGKILL)
                deadline = time.monotonic() + 60
                while len(now := db.live_workers()) != 2 or now == first:
                    assert time.monotonic() < deadline, (
                        f"no worker in place of the dead one:\n{api.log_text()}"
                    )
                    time.sleep(0.2)
                assert len(now & first) == 1  # the other one went on
                children = _children(api.proc.pid)
                assert victim not in children and len(children) == 2
            # the server stopped (SIGTERM): its workers ended with it, and took their rows away
            assert not any(_alive(child) for child in children)
            assert db.live_workers() == set()
            # a server killed outright: its worker ends too (the parent-death signal it asked for)
            (tmp_path / "b").mkdir()
            with api_process(tmp_path / "b", url, "b", "--workers", "1") as api:
                deadline = time.monotonic() + 60
                while not db.live_workers():
                    assert time.monotonic() < deadline, f"no worker live within 60 s:\n{api.log_text()}"
                    time.sleep(0.2)
                (child,) = _children(api.proc.pid)
                api.proc.kill()
                api.proc.wait()
                deadline = time.monotonic() + 30
                while _alive(child):
                    assert time.monotonic() < deadline, "the killed server's worker went on"
                    time.sleep(0.2)
        finally:
            db.close()


def test_on_sqlite_serve_refuses_room_workers(tmp_path: Path) -> None:
    env = os.environ | {"AVATAR_CARE_DATA_DIR": str(tmp_path), "AVATAR_CARE_DATABASE_URL": ""}
    for args in (["--workers", "1"], ["--remote-workers"]):
        done = subprocess.run(
            [sys.executable, "-m", "avatar_care.cli", "serve", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert "room workers need PostgreSQL" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "avatar_care.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "a room worker needs PostgreSQL" in done.stderr
    for bad in (
        "http://10.0.0.5:8101",
        "ws://10.0.0.5",
        "ws://10.0.0.5:8101/ws",
        "ws://:8101",
        "ws://h:99999",
    ):
        done = subprocess.run(
            [sys.executable, "-m", "avatar_care.cli", "worker", "--advertise", bad],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 2 and f"--advertise {bad!r}" in done.stderr, done.stderr
