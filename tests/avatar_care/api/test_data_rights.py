"""Customers' data rights over HTTP, on SQLite and PostgreSQL: what a journey created is exported,
erasure leaves none of it findable in any text column of any table, other customers are untouched,
erasing again changes nothing, only the brand's administrators may ask, hostile ids get 4xx; the
retention per room template erases old consultations in the hourly job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import JSON, String, Text, select

import rooms.models  # noqa: F401
from rooms.clock import ManualClock
from rooms.db import Base
from rooms.desk import CareDesk
from rooms.models import CareSession, SurveyAnswer
from tests.avatar_care.api.care_support import BrandSetup, bearer, join_token, new_brand, operator

NAME = "Lucia Bianchini"
EMAIL = "lucia.bianchini@example.org"
CUSTOMER_ID = "shop-cust-7781"
CHAT = "il mio numero è 333 7654321"
#: what the journey wrote that says who the customer is or what they said
NEEDLES = (NAME, EMAIL, CUSTOMER_ID, CHAT, "333 7654321", "gracchiante per Lucia", f"servizio, {NAME}")


@pytest.fixture
def brand(client: TestClient) -> BrandSetup:
    return new_brand(client, "Ottica Rossi")


def desk_of(client: TestClient) -> CareDesk:
    desk: CareDesk = client.app.state.desk  # type: ignore[attr-defined]
    return desk


def email_of(sub: str) -> str:
    return EMAIL if sub == CUSTOMER_ID else f"{sub}@example.org"


def join(
    client: TestClient, brand: BrandSetup, clock: ManualClock, sub: str, name: str
) -> tuple[str, dict[str, str]]:
    token = join_token(
        brand,
        clock,
        sub=sub,
        name=name,
        topic="occhiali",
        context={"email": EMAIL} if sub == CUSTOMER_ID else {},
    )
    r = client.post("/api/customer/join", json={"token": token})
    assert r.status_code == 201, r.text
    return str(r.json()["session_id"]), bearer(r.json()["access_token"])


def consultation(
    client: TestClient, brand: BrandSetup, clock: ManualClock, anna: str, sub: str, name: str, said: str
) -> tuple[str, dict[str, str]]:
    """Joined, answered by Anna, chat both ways, notes, a problem report, a cart line, ended, rated."""
    sid, customer = join(client, brand, clock, sub, name)
    assert client.post(f"/api/queue/{sid}/accept", headers=bearer(anna)).status_code == 200
    clock.advance(5)
    assert client.post("/api/customer/chat", json={"text": said}, headers=customer).status_code == 201
    r = client.post(f"/api/sessions/{sid}/chat", json={"text": f"Grazie {name}"}, headers=bearer(anna))
    assert r.status_code == 201
    r = client.put(
        f"/api/sessions/{sid}/notes",
        json={"notes": f"{name} scrive da {email_of(sub)}"},
        headers=bearer(anna),
    )
    assert r.status_code == 200, r.text
    r = client.post("/api/customer/problem", json={"text": f"audio gracchiante per {name}"}, headers=customer)
    assert r.status_code == 201
    item = client.post(
        "/api/catalogue",
        json={"name": "Aria", "kind": "model", "media_url": "/a.glb", "link": "https://shop.example/a"},
        headers=brand.admin,
    ).json()
    assert client.put(
        f"/api/sessions/{sid}/cart/{item['id']}", json={"quantity": 2}, headers=bearer(anna)
    ).is_success
    clock.advance(60)
    assert client.post(f"/api/sessions/{sid}/end", headers=bearer(anna)).status_code == 200
    r = client.post(
        "/api/customer/survey", json={"csat": 5, "comment": f"ottimo servizio, {name}"}, headers=customer
    )
    assert r.status_code == 201
    return sid, customer


def callback(client: TestClient, brand: BrandSetup, clock: ManualClock, anna: str) -> str:
    """The customer comes back, nobody answers, they ask for a callback (the session is abandoned)."""
    client.put("/api/operators/me/presence", json={"presence": "away"}, headers=bearer(anna))
    sid, customer = join(client, brand, clock, CUSTOMER_ID, NAME)
    at = (clock.now() + timedelta(hours=2)).isoformat()
    body = {"kind": "callback", "contact": EMAIL, "text": "richiamatemi", "callback_at": at}
    r = client.post("/api/customer/contact-request", json=body, headers=customer)
    assert r.status_code == 201, r.text
    client.put("/api/operators/me/presence", json={"presence": "available"}, headers=bearer(anna))
    return sid


def texts_holding(client: TestClient, needles: tuple[str, ...]) -> list[str]:
    """Every text and JSON value of every table that holds one of the needles: table.column."""
    found = []
    with desk_of(client).sessions() as db:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
            if not columns:
                continue
            for row in db.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    text = str(value)
                    found += [f"{table.name}.{column.name}" for needle in needles if needle in text]
    return found


def test_export_then_erase_by_customer_leaves_nothing_findable_and_others_untouched(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    anna = operator(client, brand, "anna")
    first, old_link = consultation(client, brand, clock, anna, CUSTOMER_ID, NAME, CHAT)
    other, _ = consultation(client, brand, clock, anna, "shop-cust-9", "Marco Verdi", "Marco chiede le lenti")
    second = callback(client, brand, clock, anna)

    r = client.get("/api/data-rights/customers", params={"customer_id": CUSTOMER_ID}, headers=brand.admin)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["format"] == "avatar-care/customer-data" and doc["version"] == 1
    assert doc["brand"]["name"] == "Ottica Rossi" and doc["subject"] == {"customer_id": CUSTOMER_ID}
    assert [s["session_id"] for s in doc["sessions"]] == [first, second]
    s = doc["sessions"][0]
    assert s["customer_name"] == NAME and s["context"] == {"email": EMAIL} and s["topic"] == "occhiali"
    assert [(m["sender"], m["text"]) for m in s["chat"]] == [
        ("customer", CHAT),
        ("operator", f"Grazie {NAME}"),
    ]
    assert s["operator_notes"] == f"{NAME} scrive da {EMAIL}"
    assert s["survey"]["csat"] == 5 and s["survey"]["comment"] == f"ottimo servizio, {NAME}"
    assert [p["text"] for p in s["problem_reports"]] == [f"audio gracchiante per {NAME}"]
    assert s["cart"][0]["name"] == "Aria" and s["cart"][0]["quantity"] == 2
    assert "connected" in [e["kind"] for e in s["events"]] and s["state"] == "ended"
    assert [(c["kind"], c["contact"], c["session_id"]) for c in doc["contact_requests"]] == [
        ("callback", EMAIL, second)
    ]
    assert doc["sessions"][1]["state"] == "abandoned"
    assert other not in str(doc) and "Marco" not in str(doc)
    by_session = client.get(f"/api/data-rights/sessions/{first}", headers=brand.admin).json()
    assert [x["session_id"] for x in by_session["sessions"]] == [first] and by_session[
        "contact_requests"
    ] == []

    assert texts_holding(client, NEEDLES)  # the search finds them while they are there
    assert EMAIL in client.get("/api/queue", headers=bearer(anna)).text  # the callback, in the panel
    r = client.post(
        "/api/data-rights/customers/erase", json={"customer_id": CUSTOMER_ID}, headers=brand.admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["erased_sessions"] == sorted([first, second])
    assert r.json()["rows"]["chat_messages"] == 2 and r.json()["rows"]["contact_requests"] == 1
    assert texts_holding(client, NEEDLES) == []
    assert EMAIL not in client.get("/api/queue", headers=bearer(anna)).text
    # the consultation stays for the figures: its times, outcome and rating
    with desk_of(client).sessions() as db:
        cs = db.get(CareSession, first)
        assert cs is not None and cs.state == "ended" and cs.connected_at and cs.ended_at and cs.erased_at
        assert cs.customer_name == "" and cs.notes == "" and cs.context == {}
        survey = db.get(SurveyAnswer, first)
        assert survey is not None and survey.csat == 5 and survey.comment == ""
    # the customer's old link no longer works
    assert client.get("/api/customer/session", headers=old_link).status_code == 401
    # the other customer is untouched
    marco = client.get(
        "/api/data-rights/customers", params={"customer_id": "shop-cust-9"}, headers=brand.admin
    )
    assert [m["text"] for m in marco.json()["sessions"][0]["chat"]] == [
        "Marco chiede le lenti",
        "Grazie Marco Verdi",
    ]
    assert marco.json()["sessions"][0]["survey"]["comment"] == "ottimo servizio, Marco Verdi"
    # nothing is held any more; erasing again changes nothing and says so
    again = client.get("/api/data-rights/customers", params={"customer_id": CUSTOMER_ID}, headers=brand.admin)
    assert again.json()["sessions"] == [] and again.json()["contact_requests"] == []
    r = client.post(
        "/api/data-rights/customers/erase", json={"customer_id": CUSTOMER_ID}, headers=brand.admin
    )
    assert (
        r.status_code == 200 and r.json()["erased_sessions"] == [] and set(r.json()["rows"].values()) == {0}
    )
    r = client.post(f"/api/data-rights/sessions/{first}/erase", headers=brand.admin)
    assert (
        r.status_code == 200 and r.json()["erased_sessions"] == [] and set(r.json()["rows"].values()) == {0}
    )
    # audited: who asked, what kind, ids and counts; never the content (the search above covers it)
    audit = [
        e
        for e in client.get("/api/brand/audit", headers=brand.admin).json()
        if e["action"] == "customer.erase"
    ]
    assert audit[0]["actor"] == "API key" and audit[0]["detail"]["by"] == "customer"
    assert audit[0]["detail"]["sessions"] == sorted([first, second])


def test_erase_by_session_only_that_consultation_and_a_message_left_without_one_by_customer(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    anna = operator(client, brand, "anna")
    first, _ = consultation(client, brand, clock, anna, CUSTOMER_ID, NAME, CHAT)
    later, _ = consultation(client, brand, clock, anna, CUSTOMER_ID, NAME, "seconda visita")
    # a message left from the join page without any consultation: found by the customer's id
    token = join_token(brand, clock, sub=CUSTOMER_ID, name=NAME)
    body = {"token": token, "kind": "message", "contact": EMAIL, "text": "scrivetemi"}
    assert client.post("/api/customer/contact", json=body).status_code == 201

    r = client.post(f"/api/data-rights/sessions/{first}/erase", headers=brand.admin)
    assert r.status_code == 200 and r.json()["erased_sessions"] == [first]
    doc = client.get(
        "/api/data-rights/customers", params={"customer_id": CUSTOMER_ID}, headers=brand.admin
    ).json()
    assert [s["session_id"] for s in doc["sessions"]] == [later]
    assert [c["text"] for c in doc["contact_requests"]] == ["scrivetemi"]
    erased = client.get(f"/api/data-rights/sessions/{first}", headers=brand.admin).json()["sessions"][0]
    assert erased["erased_at"] and erased["chat"] == [] and erased["customer_name"] == ""

    assert client.post(
        "/api/data-rights/customers/erase", json={"customer_id": CUSTOMER_ID}, headers=brand.admin
    ).json()["erased_sessions"] == [later]
    assert texts_holding(client, (*NEEDLES, "scrivetemi", "seconda visita")) == []


def test_a_running_consultation_is_not_erased(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    operator(client, brand, "anna")
    sid, customer = join(client, brand, clock, CUSTOMER_ID, NAME)
    r = client.post(f"/api/data-rights/sessions/{sid}/erase", headers=brand.admin)
    assert r.status_code == 409 and "end it" in r.json()["detail"]
    r = client.post(
        "/api/data-rights/customers/erase", json={"customer_id": CUSTOMER_ID}, headers=brand.admin
    )
    assert r.status_code == 409
    assert client.get("/api/customer/session", headers=customer).status_code == 200  # nothing changed
    assert client.post("/api/customer/leave", headers=customer).status_code == 200
    assert client.post(f"/api/data-rights/sessions/{sid}/erase", headers=brand.admin).json()[
        "erased_sessions"
    ] == [sid]


def test_only_the_brands_administrators_may_ask(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    anna = operator(client, brand, "anna")
    sid, _ = consultation(client, brand, clock, anna, CUSTOMER_ID, NAME, CHAT)
    boss = operator(client, brand, "boss", role="supervisor")
    body = {
        "login": "capo",
        "name": "Capo",
        "languages": ["it"],
        "role": "admin",
        "password": "correct horse battery",
    }
    assert client.post("/api/operators", json=body, headers=brand.admin).status_code == 201
    r = client.post(
        "/api/operators/login",
        json={"brand_id": brand.id, "login": "capo", "password": "correct horse battery"},
    )
    admin = str(r.json()["token"])
    other = new_brand(client, "Ottica Verdi")
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"/api/data-rights/sessions/{sid}", {}),
        ("POST", f"/api/data-rights/sessions/{sid}/erase", {}),
        ("GET", "/api/data-rights/customers", {"params": {"customer_id": CUSTOMER_ID}}),
        ("POST", "/api/data-rights/customers/erase", {"json": {"customer_id": CUSTOMER_ID}}),
    ]
    for method, url, extra in calls:
        assert client.request(method, url, **extra).status_code == 401
        for token in (anna, boss):
            r = client.request(method, url, headers=bearer(token), **extra)
            assert r.status_code == 403, (method, url, r.text)
    # another brand: the session does not exist for it, and it holds nothing about the customer
    assert client.get(f"/api/data-rights/sessions/{sid}", headers=other.admin).status_code == 404
    assert client.post(f"/api/data-rights/sessions/{sid}/erase", headers=other.admin).status_code == 404
    theirs = client.get(
        "/api/data-rights/customers", params={"customer_id": CUSTOMER_ID}, headers=other.admin
    )
    assert theirs.json()["sessions"] == []
    r = client.post(
        "/api/data-rights/customers/erase", json={"customer_id": CUSTOMER_ID}, headers=other.admin
    )
    assert r.json()["erased_sessions"] == []
    assert texts_holding(client, (CHAT,))  # still there
    # a signed-in administrator may, and is named in the audit log
    r = client.post(f"/api/data-rights/sessions/{sid}/erase", headers=bearer(admin))
    assert r.status_code == 200 and r.json()["erased_sessions"] == [sid]
    audit = client.get("/api/brand/audit", headers=brand.admin).json()
    assert [e["actor"] for e in audit if e["action"] == "customer.erase"] == ["Capo (capo)"]


@pytest.mark.parametrize(
    ("method", "url", "extra"),
    [
        ("GET", "/api/data-rights/sessions/" + "a" * 33, {}),
        ("GET", "/api/data-rights/sessions/x%00y", {}),
        ("GET", "/api/data-rights/sessions/..%2F..%2Fetc", {}),
        ("POST", "/api/data-rights/sessions/%C3%A9/erase", {}),
        ("GET", "/api/data-rights/customers", {}),
        ("GET", "/api/data-rights/customers", {"params": {"customer_id": ""}}),
        ("GET", "/api/data-rights/customers", {"params": {"customer_id": "x" * 201}}),
        ("GET", "/api/data-rights/customers", {"params": {"customer_id": "a\x00b"}}),
        ("GET", "/api/data-rights/customers", {"params": {"customer_id": "anonymous"}}),
        ("POST", "/api/data-rights/customers/erase", {"json": {}}),
        ("POST", "/api/data-rights/customers/erase", {"json": {"customer_id": 42}}),
        ("POST", "/api/data-rights/customers/erase", {"json": {"customer_id": ["a"]}}),
        ("POST", "/api/data-rights/customers/erase", {"json": {"customer_id": "anonymous"}}),
        ("POST", "/api/data-rights/customers/erase", {"content": b'{"customer_id": "a\\u0000b"}'}),
        ("POST", "/api/data-rights/customers/erase", {"content": b'{"customer_id": "\\ud800"}'}),
    ],
)
def test_hostile_ids_get_a_4xx_with_a_reason(
    client: TestClient, brand: BrandSetup, method: str, url: str, extra: dict[str, Any]
) -> None:
    headers = brand.admin | ({"Content-Type": "application/json"} if "content" in extra else {})
    r = client.request(method, url, headers=headers, **extra)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["detail"]


def test_an_unknown_session_is_404(client: TestClient, brand: BrandSetup) -> None:
    r = client.post("/api/data-rights/sessions/0123456789abcdef01234567/erase", headers=brand.admin)
    assert r.status_code == 404 and "no session" in r.json()["detail"]


@pytest.mark.parametrize("days", [0, -1, 3651, 2**70, 1.5, "30", True])
def test_a_retention_out_of_range_or_not_whole_days_is_refused(
    client: TestClient, brand: BrandSetup, days: Any
) -> None:
    body = {"name": "Occhiali", "languages": ["it"], "retention_days": days}
    r = client.put(f"/api/templates/{brand.template_id}", json=body, headers=brand.admin)
    assert 400 <= r.status_code < 500 and r.json()["detail"], r.text
    assert (
        client.get(f"/api/templates/{brand.template_id}", headers=brand.admin).json()["retention_days"]
        is None
    )


def test_retention_erases_ended_consultations_older_than_their_rooms_days(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    body = {"name": "Occhiali", "languages": ["it", "en"], "skills": ["optics"], "retention_days": 30}
    r = client.put(f"/api/templates/{brand.template_id}", json=body, headers=brand.admin)
    assert r.status_code == 200 and r.json()["retention_days"] == 30
    kept_room = client.post(
        "/api/templates", json={"name": "Lenti", "languages": ["it"]}, headers=brand.admin
    )
    anna = operator(client, brand, "anna")
    old, _ = consultation(client, brand, clock, anna, CUSTOMER_ID, NAME, CHAT)
    client.put("/api/operators/me/presence", json={"presence": "away"}, headers=bearer(anna))
    clock.advance(86400 * 20)
    anna = operator(client, brand, "bruno")  # Anna's sign-in has expired by now
    recent, _ = consultation(client, brand, clock, anna, "shop-cust-9", "Marco Verdi", "Marco chiede")
    token = join_token(
        brand, clock, sub="shop-cust-10", name="Elsa Neri", room=kept_room.json()["id"], lang="it"
    )
    forever = client.post("/api/customer/join", json={"token": token}).json()["session_id"]
    client.post(f"/api/queue/{forever}/accept", headers=bearer(anna))
    client.post(f"/api/sessions/{forever}/end", headers=bearer(anna))
    desk = desk_of(client)
    assert desk.apply_retention()[1] == 0  # 20 days: not yet
    clock.advance(86400 * 10 + 60)
    assert desk.apply_retention()[1] == 1
    assert texts_holding(client, NEEDLES) == []
    assert texts_holding(client, ("Marco chiede",)) and texts_holding(client, ("Elsa Neri",))
    assert client.get(f"/api/data-rights/sessions/{old}", headers=brand.admin).json()["sessions"][0][
        "erased_at"
    ]
    assert desk.apply_retention()[1] == 0  # erased once, not again every hour
    clock.advance(86400 * 3650)
    assert (
        desk.apply_retention()[1] == 1
    )  # the recent one in its turn; the room without retention keeps its own
    assert texts_holding(client, ("Marco chiede",)) == [] and texts_holding(client, ("Elsa Neri",))
    assert client.get(f"/api/data-rights/sessions/{recent}", headers=brand.admin).json()["sessions"][0][
        "erased_at"
    ]
    audit = [
        e
        for e in client.get("/api/brand/audit", headers=brand.admin).json()
        if e["action"] == "customer.erase"
    ]
    assert [(e["actor"], e["detail"]["by"], e["detail"]["days"]) for e in audit] == [
        ("retention", "retention", 30)
    ] * 2
    assert [e["detail"]["rows"]["care_sessions"] for e in audit] == [1, 1]
