"""What is open is meant to be open: /metrics, retargeting, templates' avatars, checkout webhooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from avatar_care.app import create_app
from avatar_care.core.config import Settings
from avatar_care.webhooks import WebhookPolicy, WebhookRefused, checked_address
from rooms.clock import ManualClock
from rooms.models import Avatar
from tests.avatar_care.api.care_support import BrandSetup, bearer, join_token, new_brand, operator
from tests.avatar_care.api.https_receiver import https_receiver
from tests.rigging.posed_landmarks import make_frame, rq


def test_metrics_need_the_metrics_token_and_are_off_without_one(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path), demo=True)) as client:
        r = client.get("/metrics", headers=bearer("anything"))
        assert r.status_code == 404 and "AVATAR_CARE_METRICS_TOKEN" in r.json()["detail"]
    settings = Settings(data_dir=tmp_path / "b", metrics_token="m3tr1cs-secret")
    with TestClient(create_app(settings, demo=True)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=bearer("m3tr1cs-wrong")).status_code == 401
        r = client.get("/metrics", headers=bearer("m3tr1cs-secret"))
        assert r.status_code == 200
        assert any(
            line.startswith("avatar_care_customers{") and 'room="demo"' in line
            for line in r.text.splitlines()
        )


def test_one_rooms_figures_for_who_may_be_in_it(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path), demo=True)) as client:
        key = client.app.state.demo_operator_key  # type: ignore[attr-defined]
        client.app.state.live_rooms.open("other")  # type: ignore[attr-defined]
        r = client.get("/metrics/rooms/demo", headers=bearer(key))
        assert r.status_code == 200 and 'avatar_care_customers{room="demo"} 0' in r.text
        assert 'room="other"' not in r.text
        assert client.get("/metrics/rooms/other", headers=bearer(key)).status_code == 404
        assert client.get("/metrics/rooms/demo", headers=bearer("guess")).status_code == 404
        assert client.get("/metrics/rooms/demo").status_code == 401


def _frames(n: int) -> list[dict[str, object]]:
    return [make_frame({"leftUpperArm": rq((0, 0, 1), 40)}, t_ms=i * 33.0).to_json() for i in range(n)]


def test_retargeting_takes_a_brand_key_and_holds_it_to_its_limits(tmp_path: Path, database_url: str) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, retarget_rate="2 per minute", retarget_max_frames=20
    )
    with TestClient(create_app(settings)) as client:
        first, second = new_brand(client, "Ottica Rossi"), new_brand(client, "Moda Bianchi")
        body = {"frames": _frames(3), "filter": False}
        assert client.post("/api/retarget", json=body).status_code == 401
        r = client.post("/api/retarget", json=body, headers=first.admin)
        assert r.status_code == 200 and len(r.json()["poses"]) == 3
        big = client.post("/api/retarget", json={"frames": _frames(21)}, headers=first.admin)
        assert big.status_code == 413 and "20 frames" in big.json()["detail"]
        assert client.post("/api/retarget", json=body, headers=first.admin).status_code == 200
        refused = client.post("/api/retarget", json=body, headers=first.admin)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # each key has its own allowance
        assert client.post("/api/retarget", json=body, headers=second.admin).status_code == 200


def test_a_template_points_only_at_its_own_brands_avatar(client: TestClient) -> None:
    mine, theirs = new_brand(client, "Ottica Rossi"), new_brand(client, "Moda Bianchi")
    with client.app.state.sessions() as db:  # type: ignore[attr-defined]
        for avatar_id, brand in (("a-mine", mine), ("a-theirs", theirs)):
            db.add(
                Avatar(
                    id=avatar_id,
                    brand_id=brand.id,
                    name=avatar_id,
                    format="vrm1",
                    file_name=f"{avatar_id}.vrm",
                    thumbnail_name=f"{avatar_id}.png",
                    size_bytes=1,
                    bones=[],
                    expressions=[],
                )
            )
        db.commit()
    body = {"name": "Sala", "languages": ["it"]}
    r = client.post("/api/templates", json=body | {"avatar_id": "a-theirs"}, headers=mine.admin)
    assert r.status_code == 422 and "no avatar a-theirs" in r.json()["detail"]
    r = client.put(
        f"/api/templates/{mine.template_id}", json=body | {"avatar_id": "a-theirs"}, headers=mine.admin
    )
    assert r.status_code == 422
    r = client.post("/api/templates", json=body | {"avatar_id": "a-mine"}, headers=mine.admin)
    assert r.status_code == 201 and r.json()["avatar_id"] == "a-mine"


def _connected_customer_with_cart(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> dict[str, str]:
    anna = operator(client, brand, "anna")
    item = client.post(
        "/api/catalogue",
        json={"name": "Aria", "kind": "image", "media_url": "/x.png", "link": "https://shop.example/a"},
        headers=brand.admin,
    ).json()
    joined = client.post("/api/customer/join", json={"token": join_token(brand, clock)}).json()
    sid = joined["session_id"]
    assert client.post(f"/api/queue/{sid}/accept", headers=bearer(anna)).status_code == 200
    r = client.put(f"/api/sessions/{sid}/cart/{item['id']}", json={"quantity": 1}, headers=bearer(anna))
    assert r.status_code == 200
    return {"sid": sid, "token": joined["access_token"], "anna": anna}


def test_checkout_urls_must_be_https(client: TestClient) -> None:
    brand = new_brand(client, "Ottica Rossi")
    r = client.put(
        "/api/brand/checkout", json={"checkout_url": "http://shop.example/cart"}, headers=brand.admin
    )
    assert r.status_code == 422 and "https" in r.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost:{port}/cart",  # a name that resolves to loopback
        "https://127.0.0.1:{port}/cart",
        "https://[::1]:{port}/cart",
        "https://10.1.2.3/cart",  # private
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://100.64.0.1/cart",  # shared address space
    ],
)
def test_a_webhook_never_reaches_loopback_private_or_link_local_addresses(
    client: TestClient, clock: ManualClock, tmp_path: Path, url: str
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    with https_receiver(tmp_path) as receiver:
        client.app.state.settings.webhook_ca_file = receiver.ca_file  # type: ignore[attr-defined]
        port = receiver.url.split(":")[2].split("/")[0]
        target = url.format(port=port)
        assert (
            client.put("/api/brand/checkout", json={"checkout_url": target}, headers=brand.admin).status_code
            == 200
        )
        who = _connected_customer_with_cart(client, brand, clock)
        r = client.post("/api/customer/checkout", headers=bearer(who["token"]))
        assert r.status_code == 409
        detail = r.json()["detail"]
        assert "try again" in detail
        for internal in ("127.0.0.1", "::1", "10.1.2.3", "169.254", "100.64", "localhost", "public address"):
            assert internal not in detail  # the customer never sees the internal reason
        assert receiver.received == []
    events = client.get(f"/api/sessions/{who['sid']}", headers=bearer(who["anna"])).json()["events"]
    failed = [e for e in events if e["kind"] == "checkout_failed"]
    assert len(failed) == 1 and "not a public address" in json.dumps(failed[0])


def test_the_checked_address_is_the_one_connected_and_names_stay_for_tls(
    client: TestClient, clock: ManualClock, tmp_path: Path
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    with https_receiver(tmp_path) as receiver:
        settings = client.app.state.settings  # type: ignore[attr-defined]
        settings.webhook_allowed_networks = ["127.0.0.0/8"]
        settings.webhook_ca_file = receiver.ca_file
        client.put("/api/brand/checkout", json={"checkout_url": receiver.url}, headers=brand.admin)
        who = _connected_customer_with_cart(client, brand, clock)
        assert client.post("/api/customer/checkout", headers=bearer(who["token"])).json() == {"status": 202}
        port = receiver.url.split(":")[2].split("/")[0]
        # the certificate names localhost: verified against the name although the address was dialled
        assert receiver.received[0].host == f"localhost:{port}"
    assert checked_address("127.0.0.1", 443, WebhookPolicy.from_settings(["127.0.0.0/8"], "")) == "127.0.0.1"
    with pytest.raises(WebhookRefused, match="not a public address"):
        checked_address("localhost", 443, WebhookPolicy())


def test_a_brand_server_that_refuses_is_not_shown_to_the_customer(
    client: TestClient, clock: ManualClock, tmp_path: Path
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    with https_receiver(tmp_path, status=500) as receiver:
        settings = client.app.state.settings  # type: ignore[attr-defined]
        settings.webhook_allowed_networks = ["127.0.0.0/8"]
        settings.webhook_ca_file = receiver.ca_file
        client.put("/api/brand/checkout", json={"checkout_url": receiver.url}, headers=brand.admin)
        who = _connected_customer_with_cart(client, brand, clock)
        r = client.post("/api/customer/checkout", headers=bearer(who["token"]))
        assert r.status_code == 409 and "500" not in r.json()["detail"]
        assert len(receiver.received) == 1
