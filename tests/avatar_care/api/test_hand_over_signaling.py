"""A warm hand-over as the live side sees it: the customer's socket in the first operator's room is
told they are being transferred and let go; the colleague's new room admits the customer and the
colleague and no longer the first operator; the first room, left empty, is gone."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from rooms.clock import ManualClock
from tests.avatar_care.api import test_live_rooms
from tests.avatar_care.api.care_support import bearer, new_brand, operator
from tests.avatar_care.api.test_live_rooms import (
    _id,
    accept,
    customer,
    joins,
    live_room_of,
    refusal,
)

# the live rooms' app and its manual clock
client = test_live_rooms.client
clock = test_live_rooms.clock


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
