"""Reports that get read: problem reports as tickets, survey comments, figures per operator and per
day, the service-level threshold per room, CSV exports; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rooms.clock import ManualClock
from tests.avatar_care.api.care_support import BrandSetup, bearer, join_token, new_brand, operator


@pytest.fixture
def brand(client: TestClient) -> BrandSetup:
    return new_brand(client, "Ottica Rossi")


def consultation(
    client: TestClient,
    brand: BrandSetup,
    clock: ManualClock,
    staff: dict[str, str],
    who: str,
    *,
    room: str | None = None,
    wait_s: float = 0,
    talk_s: float = 60,
    problem: str | None = None,
    csat: int | None = None,
    comment: str = "",
    name: str = "Lucia",
) -> str:
    """One customer answered by ``who`` (every other operator set away first), ended; its id."""
    for login, token in staff.items():
        presence = "available" if login == who else "away"
        assert client.put(
            "/api/operators/me/presence", json={"presence": presence}, headers=bearer(token)
        ).is_success
    token = join_token(brand, clock, room=room or brand.template_id, name=name)
    joined = client.post("/api/customer/join", json={"token": token})
    assert joined.status_code == 201, joined.text
    sid: str = joined.json()["session_id"]
    customer = bearer(joined.json()["access_token"])
    clock.advance(wait_s)
    accepted = client.post(f"/api/queue/{sid}/accept", headers=bearer(staff[who]))
    assert accepted.status_code == 200, accepted.text
    if problem is not None:
        r = client.post("/api/customer/problem", json={"text": problem}, headers=customer)
        assert r.status_code == 201, r.text
    clock.advance(talk_s)
    assert client.post(f"/api/sessions/{sid}/end", headers=bearer(staff[who])).json()["state"] == "ended"
    if csat is not None:
        r = client.post("/api/customer/survey", json={"csat": csat, "comment": comment}, headers=customer)
        assert r.status_code == 201, r.text
    clock.advance(1)
    return sid


def second_room(client: TestClient, brand: BrandSetup, **fields: Any) -> str:
    body = {"name": "Lenti a contatto", "languages": ["it", "en"]} | fields
    r = client.post("/api/templates", json=body, headers=brand.admin)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def operator_id(client: TestClient, brand: BrandSetup, login: str) -> str:
    return next(
        str(o["id"]) for o in client.get("/api/operators", headers=brand.admin).json() if o["login"] == login
    )


def test_tickets_are_listed_filtered_answered_and_closed_by_their_brand_only(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    lenses = second_room(client, brand)
    staff = {"anna": operator(client, brand, "anna"), "bruno": operator(client, brand, "bruno")}
    boss = operator(client, brand, "boss", role="supervisor")
    # the supervisor is at the desk but away: offered nobody
    client.put("/api/operators/me/presence", json={"presence": "away"}, headers=bearer(boss))
    start = clock.now()
    s1 = consultation(client, brand, clock, staff, "anna", problem="audio gracchiante")
    clock.advance(3600)
    middle = clock.now()
    s2 = consultation(client, brand, clock, staff, "bruno", room=lenses, problem="video fermo", name="Marco")
    consultation(client, brand, clock, staff, "anna")  # no report: no ticket

    page = client.get("/api/tickets", headers=brand.admin).json()
    assert page["total"] == 2 and page["limit"] == 50 and page["offset"] == 0
    assert [t["session_id"] for t in page["items"]] == [s2, s1]  # newest first
    first = page["items"][1]
    assert first["status"] == "open" and first["text"] == "audio gracchiante"
    assert first["operator_name"] == "Anna" and first["customer_name"] == "Lucia"
    assert first["template_name"] == "Occhiali" and first["answer"] is None
    assert first["customer_ref"] == "customer-42"

    def ids(**params: Any) -> list[str]:
        r = client.get("/api/tickets", params=params, headers=brand.admin)
        assert r.status_code == 200, r.text
        return [t["session_id"] for t in r.json()["items"]]

    assert ids(template_id=lenses) == [s2]
    assert ids(operator_id=operator_id(client, brand, "anna")) == [s1]
    assert ids(since=middle.isoformat()) == [s2]
    assert ids(since=start.isoformat(), until=middle.isoformat()) == [s1]
    assert ids(limit=1) == [s2] and ids(limit=1, offset=1) == [s1] and ids(offset=2) == []

    ticket = first["id"]
    r = client.post(
        f"/api/tickets/{ticket}/answer", json={"text": "  Ci scusi: richiamiamo oggi.  "}, headers=brand.admin
    )
    assert r.status_code == 200, r.text
    answered = r.json()
    assert answered["status"] == "answered" and answered["answer"] == "Ci scusi: richiamiamo oggi."
    assert answered["answered_by"] == "API key" and answered["answered_at"].endswith(("Z", "+00:00"))
    assert ids(status="answered") == [s1] and ids(status="open") == [s2]
    # a supervisor answers again: the newer answer replaces it, named as the audit log names them
    r = client.post(f"/api/tickets/{ticket}/answer", json={"text": "Richiamata fatta"}, headers=bearer(boss))
    assert r.json()["answered_by"] == "Boss (boss)" and r.json()["answer"] == "Richiamata fatta"
    closed = client.post(f"/api/tickets/{ticket}/close", headers=bearer(boss))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["closed_by"] == "Boss (boss)" and closed.json()["answer"] == "Richiamata fatta"
    again = client.post(f"/api/tickets/{ticket}/answer", json={"text": "ancora"}, headers=brand.admin)
    assert again.status_code == 409 and "closed" in again.json()["detail"]
    assert client.post(f"/api/tickets/{ticket}/close", headers=brand.admin).status_code == 409
    assert client.get(f"/api/tickets/{ticket}", headers=brand.admin).json()["status"] == "closed"
    # an open ticket may be closed unanswered
    other_ticket = page["items"][0]["id"]
    assert client.post(f"/api/tickets/{other_ticket}/close", headers=brand.admin).json()["answer"] is None

    audit = [
        e
        for e in client.get("/api/brand/audit", headers=brand.admin).json()
        if e["action"].startswith("ticket.")
    ]
    assert [(e["action"], e["actor"]) for e in audit] == [
        ("ticket.answer", "API key"),
        ("ticket.answer", "Boss (boss)"),
        ("ticket.close", "Boss (boss)"),
        ("ticket.close", "API key"),
    ]
    assert audit[2]["detail"] == {"ticket": ticket, "session": s1, "answered": True}

    # another brand sees none of it: every ticket of this brand is missing to them
    other = new_brand(client, "Moda Bianchi")
    assert client.get("/api/tickets", headers=other.admin).json()["total"] == 0
    for method, path in (
        ("GET", f"/api/tickets/{ticket}"),
        ("POST", f"/api/tickets/{other_ticket}/close"),
    ):
        r = client.request(method, path, headers=other.admin)
        assert r.status_code == 404 and "no ticket" in r.json()["detail"], (path, r.text)
    r = client.post(f"/api/tickets/{other_ticket}/answer", json={"text": "x"}, headers=other.admin)
    assert r.status_code == 404
    assert client.get("/api/tickets", params={"template_id": lenses}, headers=other.admin).status_code == 404
    # operators are not given the brand's tickets; nobody without a key or token is
    assert client.get("/api/tickets", headers=bearer(staff["anna"])).status_code == 403
    assert client.get("/api/tickets").status_code == 401


def test_survey_comments_and_figures_per_operator_and_per_day(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    staff = {"anna": operator(client, brand, "anna"), "bruno": operator(client, brand, "bruno")}
    carla = operator(client, brand, "carla")  # handles nothing, still listed
    client.put("/api/operators/me/presence", json={"presence": "away"}, headers=bearer(carla))
    day_one = clock.now()
    a1 = consultation(client, brand, clock, staff, "anna", talk_s=60, csat=5, comment="Gentilissima, grazie")
    consultation(client, brand, clock, staff, "anna", talk_s=120, csat=3)
    b1 = consultation(client, brand, clock, staff, "bruno", talk_s=300, csat=2, comment="troppo lungo")
    clock.advance(86400)  # the next day: sign-in tokens last 12 hours, Bruno signs in again
    signed_in = {"login": "bruno", "password": "correct horse battery", "brand_id": brand.id}
    staff = {"bruno": client.post("/api/operators/login", json=signed_in).json()["token"]}
    consultation(client, brand, clock, staff, "bruno", talk_s=100)

    answers = client.get("/api/surveys", headers=brand.admin).json()
    assert answers["total"] == 3
    assert [(a["session_id"], a["csat"], a["comment"]) for a in answers["items"]] == [
        (b1, 2, "troppo lungo"),
        (answers["items"][1]["session_id"], 3, ""),
        (a1, 5, "Gentilissima, grazie"),
    ]
    commented = client.get("/api/surveys", params={"with_comment": "true"}, headers=brand.admin).json()
    assert [a["session_id"] for a in commented["items"]] == [b1, a1]
    assert (
        commented["items"][1]["operator_name"] == "Anna"
        and commented["items"][1]["template_name"] == "Occhiali"
    )
    by_bruno = client.get(
        "/api/surveys", params={"operator_id": operator_id(client, brand, "bruno")}, headers=brand.admin
    ).json()
    assert [a["session_id"] for a in by_bruno["items"]] == [b1]

    since = (day_one - timedelta(hours=1)).isoformat()
    per = client.get("/api/figures/operators", params={"since": since}, headers=brand.admin).json()[
        "operators"
    ]
    assert [
        (o["login"], o["handled"], o["average_handle_time_s"], o["csat"], o["csat_answers"]) for o in per
    ] == [
        ("anna", 2, 90.0, 4.0, 2),
        ("bruno", 2, 200.0, 2.0, 1),
        ("carla", 0, None, None, 0),
    ]

    first_day = day_one.date()
    daily = client.get(
        "/api/figures/daily",
        params={
            "first_day": (first_day - timedelta(days=1)).isoformat(),
            "last_day": (first_day + timedelta(days=1)).isoformat(),
        },
        headers=brand.admin,
    ).json()
    assert daily["zone"] == "UTC"
    assert [(d["day"], d["sessions"], d["answered"], d["csat_answers"]) for d in daily["days"]] == [
        ((first_day - timedelta(days=1)).isoformat(), 0, 0, 0),
        (first_day.isoformat(), 3, 3, 3),
        ((first_day + timedelta(days=1)).isoformat(), 1, 1, 0),
    ]
    assert daily["days"][1]["average_handle_time_s"] == 160.0 and daily["days"][0]["service_level"] is None
    # the days of another zone split the same sessions at another hour, and still count them once
    tokyo = client.get(
        "/api/figures/daily",
        params={
            "first_day": first_day.isoformat(),
            "last_day": (first_day + timedelta(days=2)).isoformat(),
            "zone": "Asia/Tokyo",
        },
        headers=brand.admin,
    ).json()
    assert tokyo["zone"] == "Asia/Tokyo" and sum(d["sessions"] for d in tokyo["days"]) == 4


def test_the_service_level_threshold_is_set_per_room_and_used_by_the_figures(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    assert (
        client.get(f"/api/templates/{brand.template_id}", headers=brand.admin).json()["service_level_s"]
        == 20.0
    )
    quick = second_room(client, brand, service_level_s=5)
    staff = {"anna": operator(client, brand, "anna")}
    consultation(client, brand, clock, staff, "anna", wait_s=10)  # within 20 s
    consultation(client, brand, clock, staff, "anna", room=quick, wait_s=10)  # not within 5 s

    def level(**params: Any) -> tuple[float | None, float | None]:
        f = client.get("/api/figures", params=params, headers=brand.admin).json()
        return f["service_level"], f["service_level_s"]

    assert level(template_id=brand.template_id) == (1.0, 20.0)
    assert level(template_id=quick) == (0.0, 5.0)
    assert level() == (0.5, None)  # all rooms: each session by its own room's threshold
    body = {"name": "Occhiali", "languages": ["it", "en"], "skills": ["optics"], "service_level_s": 7.5}
    r = client.put(f"/api/templates/{brand.template_id}", json=body, headers=brand.admin)
    assert r.status_code == 200 and r.json()["service_level_s"] == 7.5
    assert level(template_id=brand.template_id) == (0.0, 7.5)
    assert level() == (0.0, None)

    for bad in (0, -3, 3601, 10**18, "veloce", None):
        r = client.put(
            f"/api/templates/{brand.template_id}", json=body | {"service_level_s": bad}, headers=brand.admin
        )
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["detail"][0]["loc"][-1] == "service_level_s", (bad, r.text)
    for raw in ("1e400", "NaN", "Infinity", str(2**70)):
        text = f'{{"name": "x", "languages": ["it"], "service_level_s": {raw}}}'
        r = client.post(
            "/api/templates", content=text, headers=brand.admin | {"Content-Type": "application/json"}
        )
        assert r.status_code in (400, 413, 422) and r.json()["detail"], (raw, r.text)
    assert (
        client.get(f"/api/templates/{brand.template_id}", headers=brand.admin).json()["service_level_s"]
        == 7.5
    )
    assert len(client.get("/api/templates", headers=brand.admin).json()) == 2  # nothing half-made


def rows_of(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def test_csv_exports_quote_properly_and_defuse_formulas(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    staff = {"anna": operator(client, brand, "anna")}
    nasty = '=HYPERLINK("http://203.0.113.9/x","premi qui")'
    s1 = consultation(
        client,
        brand,
        clock,
        staff,
        "anna",
        problem=nasty,
        csat=4,
        comment='Bene, "molto"\nma lento',
        name="@Lucia",
    )
    s2 = consultation(
        client, brand, clock, staff, "anna", problem="+39 333 1234567", csat=1, comment="-1 stelle"
    )
    ticket = client.get("/api/tickets", headers=brand.admin).json()["items"][1]["id"]
    client.post(f"/api/tickets/{ticket}/answer", json={"text": "Ciao, è risolto"}, headers=brand.admin)

    tickets = rows_of(client.get("/api/exports/tickets.csv", headers=brand.admin))
    header = tickets[0]
    assert header[:4] == ["ticket", "status", "reported_at", "text"]
    by_session = {r[header.index("session")]: dict(zip(header, r, strict=True)) for r in tickets[1:]}
    assert by_session[s1]["text"] == "'" + nasty and by_session[s1]["customer_name"] == "'@Lucia"
    assert by_session[s1]["answer"] == "Ciao, è risolto" and by_session[s1]["status"] == "answered"
    assert by_session[s2]["text"] == "'+39 333 1234567" and by_session[s2]["answer"] == ""
    only_open = rows_of(
        client.get("/api/exports/tickets.csv", params={"status": "open"}, headers=brand.admin)
    )
    assert [r[header.index("session")] for r in only_open[1:]] == [s2]

    surveys = rows_of(client.get("/api/exports/surveys.csv", headers=brand.admin))
    comments = {r[0]: r[surveys[0].index("comment")] for r in surveys[1:]}
    assert comments == {s1: 'Bene, "molto"\nma lento', s2: "'-1 stelle"}
    assert [r[surveys[0].index("csat")] for r in surveys[1:]] == ["4", "1"]

    ops = rows_of(client.get("/api/exports/figures-operators.csv", headers=brand.admin))
    assert ops[0][:4] == ["operator", "name", "login", "handled"] and ops[1][2:4] == ["anna", "2"]
    daily = rows_of(
        client.get(
            "/api/exports/figures-daily.csv",
            params={"first_day": clock.now().date().isoformat()},
            headers=brand.admin,
        )
    )
    assert daily[0][0] == "day" and len(daily) == 2  # from first_day to today (the default last_day): one day
    assert daily[1][1] == "2"
    assert client.get("/api/exports/tickets.csv", headers=bearer(staff["anna"])).status_code == 403
    other = new_brand(client, "Moda Bianchi")
    assert len(rows_of(client.get("/api/exports/tickets.csv", headers=other.admin))) == 1  # the header only


def test_hostile_report_queries_and_bodies_get_a_4xx_with_a_reason(
    client: TestClient, brand: BrandSetup, clock: ManualClock
) -> None:
    staff = {"anna": operator(client, brand, "anna")}
    consultation(client, brand, clock, staff, "anna", problem="eco")
    ticket = client.get("/api/tickets", headers=brand.admin).json()["items"][0]["id"]
    refused = [
        ("GET", "/api/tickets", {"limit": 10**30}),
        ("GET", "/api/tickets", {"limit": 0}),
        ("GET", "/api/tickets", {"offset": -1}),
        ("GET", "/api/tickets", {"offset": 2**63}),
        ("GET", "/api/tickets", {"status": "lost"}),
        ("GET", "/api/tickets", {"since": "yesterday"}),
        ("GET", "/api/tickets", {"since": "2026-01-01T00:00:00"}),  # no zone
        ("GET", "/api/tickets", {"since": "2026-02-30T00:00:00Z"}),
        ("GET", "/api/tickets", {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}),
        ("GET", "/api/tickets", {"template_id": "a\x00b"}),
        ("GET", "/api/tickets", {"operator_id": "x" * 5000}),
        ("GET", "/api/tickets/99999999999999999999999", {}),
        ("GET", f"/api/tickets/{2**40}", {}),
        ("GET", "/api/tickets/-1", {}),
        ("GET", "/api/surveys", {"with_comment": "maybe"}),
        ("GET", "/api/figures/daily", {"first_day": "2026-02-30"}),
        ("GET", "/api/figures/daily", {"first_day": "2025-01-01", "last_day": "2026-12-31"}),
        ("GET", "/api/figures/daily", {"first_day": "2026-12-07", "last_day": "2026-12-01"}),
        ("GET", "/api/figures/daily", {"last_day": "0001-01-02"}),
        (
            "GET",
            "/api/figures/daily",
            {"first_day": "9999-12-31", "last_day": "9999-12-31", "zone": "Pacific/Kiritimati"},
        ),
        ("GET", "/api/figures/daily", {"zone": "Mars/Olympus_Mons"}),
        ("GET", "/api/figures/daily", {"zone": "../../../etc/passwd"}),
        ("GET", "/api/figures/daily", {"zone": "z" * 1000}),
        ("GET", "/api/figures/operators", {"since": "0001-01-01T00:00:00+14:00"}),
        ("GET", "/api/figures/operators", {"until": "2026-01-01T00:00:00Z", "since": "2026-01-02T00:00:00Z"}),
        ("GET", "/api/exports/figures-daily.csv", {"zone": ""}),
        ("GET", "/api/exports/tickets.csv", {"since": "1e400"}),
    ]
    for method, path, params in refused:
        r = client.request(method, path, params=params, headers=brand.admin)
        assert 400 <= r.status_code < 500 and r.json()["detail"], (path, params, r.status_code, r.text)
    # bodies: a lone surrogate, a NUL, empty and overlong answers, a wrong type; the ticket is untouched
    headers = brand.admin | {"Content-Type": "application/json"}
    for body in (
        '{"text": "ciao \\ud800"}',
        '{"text": "ciao\\u0000"}',
        '{"text": "   "}',
        '{"text": 12}',
        '{"text": "%s"}' % ("x" * 10_001),
        "{",
    ):
        r = client.post(f"/api/tickets/{ticket}/answer", content=body, headers=headers)
        assert 400 <= r.status_code < 500 and r.json()["detail"], (body[:40], r.text)
    assert client.get(f"/api/tickets/{ticket}", headers=brand.admin).json()["status"] == "open"
