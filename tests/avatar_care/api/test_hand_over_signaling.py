"""A warm hand-over as the live side sees it: the customer's socket in the first operator's room is
told they are being transferred and let go; the colleague's new room admits the customer and the
colleague and no longer the first operator; the first room, left empty, is gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from avatar_care.app import create_app
from avatar_care.core.config import Settings
from avatar_care.live.ice import use_loopback_only
from rooms.clock import ManualClock
from rooms.desk import CareDesk
from tests.avatar_care.api.care_support import bearer, new_brand, operator
from tests.avatar_care.api.test_live_rooms import _id, accept, customer, joins, live_room_of, refusal


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def client(tmp_path: Path, clock: ManualClock) -> Iterator[TestClient]:
    use_loopback_only()
    app = create_app(Settings(data_dir=tmp_path, queue_tick_s=3600), demo=True)
    desk: CareDesk = app.state.desk
    desk.clock = clock
    with TestClient(app) as c:
        yield c
    use_loopback_only(False)


def test_a_hand_over_moves_the_customer_into_the_colleagues_room(
    client: TestClient, clock: ManualClock
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    anna = operator(client, brand, "anna")
    clock.advance(1)
    bruno = operator(client, brand, "bruno")
    sid, access = customer(client, brand, clock)
    accept(client, sid, anna)
    first_room = live_room_of(client, access)["id"]
    url = f"/api/sessions/{sid}"
    assert (
        client.post(
            f"{url}/consult", json={"colleague_id": _id(client, bruno)}, headers=bearer(anna)
        ).status_code
        == 201
    )
    assert (
        client.post(f"{url}/consult/answer", json={"accept": True}, headers=bearer(bruno)).status_code == 200
    )
    with client.websocket_connect(f"/ws/rooms/{first_room}") as ws:
        ws.send_text(json.dumps({"type": "join", "role": "customer", "token": access}))
        assert ws.receive_json()["type"] == "joined"
        r = client.post(f"{url}/hand-over", headers=bearer(anna))
        assert r.status_code == 200, r.text
        assert ws.receive_json() == {"type": "left", "message": "you are being transferred to a colleague"}
    second_room = live_room_of(client, access)["id"]
    assert second_room != first_room
    assert refusal(client, first_room, role="customer", token=access)[0] == 4404
    assert joins(client, second_room, role="customer", token=access) == "customer"
    assert joins(client, second_room, role="operator", token=bruno) == "operator"
    assert refusal(client, second_room, role="operator", token=anna)[0] == 4403
