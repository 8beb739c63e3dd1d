"""A consultation recorded with the customer's consent, over real aiortc peers on loopback: nothing
before the consent or after a decline, both voices and the motion while it records, nothing while
the operator pauses, the brand admin's files, and erasure taking the files with the rows."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.testclient import WebSocketTestSession

from avatar_care.app import create_app
from avatar_care.core.config import Settings
from avatar_care.live.ice import use_loopback_only
from avatar_care.live.recorder import read_motion
from avatar_care.live.registry import LiveRooms
from avatar_care.live.room import wait_open
from rigging.codec import decode
from rooms.clock import ManualClock
from rooms.desk import CareDesk
from rooms.models import Recording
from tests.avatar_care.api.care_support import bearer, new_brand, operator
from tests.avatar_care.api.test_live_rooms import accept, connect, customer, live_room_of, send_frames, until
from tests.avatar_care.live.test_audio_relay import Person


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def client(tmp_path: Path, clock: ManualClock) -> Iterator[TestClient]:
    use_loopback_only()
    app = create_app(Settings(data_dir=tmp_path, queue_tick_s=3600))
    desk: CareDesk = app.state.desk
    desk.clock = clock
    with TestClient(app) as c:
        yield c
    use_loopback_only(False)


class Customer(Person):
    """A customer's page: speaks at 880 Hz, watches the motion."""

    def __init__(self) -> None:
        super().__init__("motion", hz=880.0)
        self.packets: list[bytes] = []
        self.channel.on("message", self.packets.append)


def first_channel(frame: av.AudioFrame) -> np.ndarray:
    samples = frame.to_ndarray()
    return samples[0] if frame.format.is_planar else samples.reshape(-1, len(frame.layout.channels))[:, 0]


def loudest_hz(path: Path) -> float:
    with av.open(str(path)) as container:
        signal = np.concatenate([first_channel(f) for f in container.decode(audio=0)])
    signal = signal[-48000:]  # the last second
    return float(np.argmax(np.abs(np.fft.rfft(signal))) * 48000 / len(signal))


def voice_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        return sum(f.samples for f in container.decode(audio=0)) / 48000


def rows(client: TestClient) -> list[Recording]:
    desk: CareDesk = client.app.state.desk  # type: ignore[attr-defined]
    with desk.sessions() as db:
        found = list(db.scalars(select(Recording)))
        for r in found:
            db.expunge(r)
        return found


def test_recorded_with_consent_paused_by_the_operator_fetched_by_the_brand_and_erased(
    client: TestClient, clock: ManualClock, tmp_path: Path
) -> None:
    brand = new_brand(client, "Ottica Rossi", recording="ask", recording_days=10)
    other = new_brand(client, "Moda Bianchi")
    anna = operator(client, brand, "anna")
    sid, access = customer(client, brand, clock)
    accept(client, sid, anna)
    room_id = live_room_of(client, access)["id"]
    view = client.get("/api/customer/session", headers=bearer(access)).json()["recording"]
    assert view == {"mode": "ask", "consent": None, "allowed": False, "recording": False, "paused": False}
    rooms: LiveRooms = client.app.state.live_rooms  # type: ignore[attr-defined]
    assert rooms.recordings is not None
    shifts: list[float] = []  # how far the motion was moved to the operator's voice when done

    async def scenario(op_ws: WebSocketTestSession, customer_ws: WebSocketTestSession) -> None:
        op, cu = Person("landmarks", hz=440.0), Customer()
        await connect(op, op_ws, {"role": "operator", "token": anna})
        await wait_open(op.channel)
        await connect(cu, customer_ws, {"role": "customer", "token": access})
        await wait_open(cu.channel)
        await send_frames(op, 10)
        assert len(cu.packets) >= 7 and rows(client) == []  # not before the customer's consent

        r = await asyncio.to_thread(
            client.post, "/api/customer/recording-consent", json={"given": True}, headers=bearer(access)
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"mode": "ask", "consent": "given", "allowed": True}
        recorder = rooms.recordings.active[sid].recorder  # type: ignore[union-attr]
        await send_frames(op, 30, start_ms=1000)
        await until(lambda: recorder._voices["customer"].packets >= 50)
        r = await asyncio.to_thread(
            client.post, "/api/customer/chat", json={"text": "vorrei questi"}, headers=bearer(access)
        )
        assert r.status_code == 201
        await until(lambda: (recorder.folder / "chat.jsonl").stat().st_size > 0)

        # another operator may not pause it; the consultation's own operator does
        bruno = await asyncio.to_thread(operator, client, brand, "bruno")
        r = await asyncio.to_thread(
            client.post, f"/api/sessions/{sid}/recording/pause", headers=bearer(bruno)
        )
        assert r.status_code == 403
        r = await asyncio.to_thread(client.post, f"/api/sessions/{sid}/recording/pause", headers=bearer(anna))
        assert r.status_code == 200 and r.json() == {"paused": True}
        panel = (await asyncio.to_thread(client.get, "/api/queue", headers=bearer(anna))).json()
        assert panel["sessions"][0]["recording"] | {} == {
            "mode": "ask",
            "consent": "given",
            "allowed": True,
            "recording": True,
            "paused": True,
        }
        motion_before, voice_before = recorder.motion_taken, recorder._voices["operator"].packets
        await send_frames(op, 20, start_ms=3000)
        await asyncio.to_thread(
            client.post, "/api/customer/chat", json={"text": "4111 1111 1111 1111"}, headers=bearer(access)
        )
        assert recorder.motion_taken == motion_before and recorder._voices["operator"].packets == voice_before
        r = await asyncio.to_thread(
            client.post, f"/api/sessions/{sid}/recording/resume", headers=bearer(anna)
        )
        assert r.status_code == 200
        await send_frames(op, 20, start_ms=5000)
        assert recorder.motion_taken > motion_before

        await asyncio.to_thread(client.post, f"/api/sessions/{sid}/end", headers=bearer(anna))
        await until(lambda: sid not in rooms.recordings.active)  # type: ignore[union-attr]
        shifts.append(recorder.motion_shift_ms)
        for person in (op, cu):
            await person.close()

    with contextlib.ExitStack() as stack:
        op_ws, customer_ws = (
            stack.enter_context(client.websocket_connect(f"/ws/rooms/{room_id}")) for _ in range(2)
        )
        asyncio.run(scenario(op_ws, customer_ws))

    [rec] = rows(client)
    assert rec.ended_at is not None and rec.session_id == sid and rec.motion_packets >= 40
    folder = tmp_path / "recordings" / rec.path
    assert sorted(p.name for p in folder.iterdir()) == [
        "chat.jsonl",
        "customer.ogg",
        "motion.bin",
        "operator.ogg",
    ]
    assert (
        abs(loudest_hz(folder / "operator.ogg") - 440) < 30
    )  # the operator's voice as the customer heard it
    assert abs(loudest_hz(folder / "customer.ogg") - 880) < 30  # the customer's own
    motion = read_motion(folder / "motion.bin")
    assert decode(motion[-1][1]).pose.bones["rightUpperArm"][2] < -0.5  # the avatar's raised arm
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(motion))  # in time order
    # within the voices' files (the motion moved with the voice when its first packets came late)
    assert motion[-1][0] / 1000 <= voice_seconds(folder / "operator.ogg") + 0.1
    assert voice_seconds(folder / "operator.ogg") <= rec.duration_s + max(0.0, shifts[0]) / 1000 + 0.05

    listed = client.get("/api/recordings", params={"session_id": sid}, headers=brand.admin).json()
    assert [r["id"] for r in listed] == [rec.id]
    detail = client.get(f"/api/recordings/{rec.id}", headers=brand.admin).json()
    assert [m["text"] for m in detail["chat"]] == ["vorrei questi"]  # not what was said while paused
    got = client.get(f"/api/recordings/{rec.id}/files/operator.ogg", headers=brand.admin)
    assert (
        got.status_code == 200 and got.headers["content-type"] == "audio/ogg" and got.content[:4] == b"OggS"
    )
    assert client.get(f"/api/recordings/{rec.id}", headers=other.admin).status_code == 404
    assert client.get(f"/api/recordings/{rec.id}/files/operator.ogg", headers=other.admin).status_code == 404
    assert client.get(f"/api/recordings/{rec.id}/files/..%2F..%2Fx", headers=brand.admin).status_code == 404
    assert client.get(f"/api/recordings/{rec.id}/files/operator.ogg", headers=bearer(anna)).status_code in (
        401,
        403,
    )
    events = [e["kind"] for e in client.get(f"/api/sessions/{sid}", headers=bearer(anna)).json()["events"]]
    assert [k for k in events if k.startswith("recording")] == [
        "recording_consent",
        "recording_started",
        "recording_paused",
        "recording_resumed",
    ]

    exported = client.get(f"/api/data-rights/sessions/{sid}", headers=brand.admin).json()
    assert [r["id"] for r in exported["sessions"][0]["recordings"]] == [rec.id]
    erased = client.post(f"/api/data-rights/sessions/{sid}/erase", headers=brand.admin).json()
    assert erased["rows"]["recordings"] == 1
    assert rows(client) == [] and not folder.exists()
    assert client.get(f"/api/recordings/{rec.id}", headers=brand.admin).status_code == 404


@pytest.mark.parametrize("answer", ["declined", "never asked"])
def test_a_declined_or_unanswered_consent_records_nothing(
    client: TestClient, clock: ManualClock, tmp_path: Path, answer: str
) -> None:
    brand = new_brand(client, "Ottica Rossi", recording="ask")
    anna = operator(client, brand, "anna")
    sid, access = customer(client, brand, clock)
    accept(client, sid, anna)
    room_id = live_room_of(client, access)["id"]
    if answer == "declined":
        r = client.post("/api/customer/recording-consent", json={"given": False}, headers=bearer(access))
        assert r.status_code == 200 and r.json()["consent"] == "declined"

    async def scenario(op_ws: WebSocketTestSession, customer_ws: WebSocketTestSession) -> None:
        op, cu = Person("landmarks", hz=440.0), Customer()
        await connect(op, op_ws, {"role": "operator", "token": anna})
        await connect(cu, customer_ws, {"role": "customer", "token": access})
        await wait_open(cu.channel)
        await send_frames(op, 30)
        assert len(cu.packets) >= 20
        await asyncio.to_thread(client.post, f"/api/sessions/{sid}/end", headers=bearer(anna))
        for person in (op, cu):
            await person.close()

    with contextlib.ExitStack() as stack:
        op_ws, customer_ws = (
            stack.enter_context(client.websocket_connect(f"/ws/rooms/{room_id}")) for _ in range(2)
        )
        asyncio.run(scenario(op_ws, customer_ws))
    assert rows(client) == [] and not (tmp_path / "recordings").exists()


def test_consent_and_pause_refuse_what_does_not_apply(client: TestClient, clock: ManualClock) -> None:
    brand = new_brand(client, "Ottica Rossi")  # recording off
    anna = operator(client, brand, "anna")
    sid, access = customer(client, brand, clock)
    r = client.post("/api/customer/recording-consent", json={"given": True}, headers=bearer(access))
    assert r.status_code == 409
    for body in ({}, {"given": "yes please"}, {"given": None}):
        assert (
            client.post("/api/customer/recording-consent", json=body, headers=bearer(access)).status_code
            == 422
        )
    assert client.post("/api/customer/recording-consent", json={"given": True}).status_code == 401
    accept(client, sid, anna)
    assert client.post(f"/api/sessions/{sid}/recording/pause", headers=bearer(anna)).status_code == 409
    for bad in ({"recording": "sometimes"}, {"recording_days": 0}, {"recording_days": "30"}):
        r = client.post("/api/templates", json={"name": "x", "languages": ["it"]} | bad, headers=brand.admin)
        assert r.status_code == 422, bad


def test_a_recording_that_cannot_start_leaves_no_row_and_the_room_goes_on(
    client: TestClient, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "recordings").write_text("not a folder")  # no recording can be made under it
    brand = new_brand(client, "Ottica Rossi", recording="always")
    anna = operator(client, brand, "anna")
    sid, access = customer(client, brand, clock)
    accept(client, sid, anna)
    room_id = live_room_of(client, access)["id"]

    async def scenario(op_ws: WebSocketTestSession, customer_ws: WebSocketTestSession) -> None:
        op, cu = Person("landmarks", hz=440.0), Customer()
        await connect(op, op_ws, {"role": "operator", "token": anna})
        await connect(cu, customer_ws, {"role": "customer", "token": access})
        await wait_open(cu.channel)
        await send_frames(op, 30)
        assert len(cu.packets) >= 20  # the customer sees the avatar all the same
        for person in (op, cu):
            await person.close()

    with contextlib.ExitStack() as stack:
        op_ws, customer_ws = (
            stack.enter_context(client.websocket_connect(f"/ws/rooms/{room_id}")) for _ in range(2)
        )
        asyncio.run(scenario(op_ws, customer_ws))
    assert rows(client) == []
    assert "did not start" in caplog.text
