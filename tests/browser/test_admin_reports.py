"""The brand admin works a customer's problem report on the admin page by keyboard: finds it in the
open tickets, opens it, answers, closes it; the survey comment and the per-operator figures are
shown, the page speaks Italian too, and the CSV export downloads what the list shows."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from avatar_care.core.config import Settings
from avatar_care.core.db import open_database
from avatar_care.core.security import make_join_token
from rooms.brands import create_brand

pytestmark = pytest.mark.browser

PASSWORD = "il negozio apre alle nove"


def consultation_with_a_problem(server: str, data_dir: Path) -> tuple[int, dict[str, str], int]:
    """A brand whose customer reported a problem and rated the consultation; its id, admin key
    headers, and the ticket's id."""
    _, sessions = open_database(Settings(data_dir=data_dir))
    with sessions() as s:
        brand, key = create_brand(s, "Ottica Verdi")
    admin = {"X-API-Key": key}
    with httpx.Client(base_url=server, timeout=10) as http:
        secret = http.get("/api/brand", headers=admin).json()["join_secret"]
        room = http.post(
            "/api/templates", json={"name": "Occhiali", "languages": ["it"]}, headers=admin
        ).json()
        for login, role in (("anna", "operator"), ("marta", "admin")):
            body = {
                "login": login,
                "name": login.title(),
                "languages": ["it"],
                "role": role,
                "password": PASSWORD,
            }
            assert http.post("/api/operators", json=body, headers=admin).status_code == 201
        login = {"brand_id": brand.id, "login": "anna", "password": PASSWORD}
        anna = {"Authorization": f"Bearer {http.post('/api/operators/login', json=login).json()['token']}"}
        assert http.put("/api/operators/me/presence", json={"presence": "available"}, headers=anna).is_success
        claims = {
            "brand": brand.id,
            "room": room["id"],
            "sub": "cliente-9",
            "jti": uuid.uuid4().hex,
            "exp": int((datetime.now(UTC) + timedelta(minutes=10)).timestamp()),
            "name": "Lucia",
            "lang": "it",
        }
        joined = http.post("/api/customer/join", json={"token": make_join_token(secret, claims)}).json()
        customer = {"Authorization": f"Bearer {joined['access_token']}"}
        sid = joined["session_id"]
        assert http.post(f"/api/queue/{sid}/accept", headers=anna).status_code == 200
        problem = http.post("/api/customer/problem", json={"text": "Il video si blocca"}, headers=customer)
        assert problem.status_code == 201
        assert http.post(f"/api/sessions/{sid}/end", headers=anna).status_code == 200
        survey = {"csat": 4, "comment": "Gentile, ma il video si bloccava"}
        assert http.post("/api/customer/survey", json=survey, headers=customer).status_code == 201
    return brand.id, admin, int(problem.json()["id"])


def test_the_admin_answers_and_closes_a_ticket_by_keyboard(
    browser: Browser, server: str, data_dir: Path, artifacts: Path
) -> None:
    brand_id, admin, ticket = consultation_with_a_problem(server, data_dir)
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server}/app/admin/index.html")
    page.get_by_label("Brand number", exact=True).fill(str(brand_id))
    page.get_by_role("textbox", name="Login", exact=True).fill("marta")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as Marta")).to_be_visible()

    # the open tickets are listed; the survey comment and Anna's figures are on the page
    tickets = page.get_by_role("region", name="Problem reports")
    expect(tickets.get_by_role("status").first).to_have_text("Problem reports 1–1 of 1.")
    row = page.locator("#ticket-rows tr")
    expect(row).to_contain_text("Il video si blocca")
    expect(row).to_contain_text("Anna")
    expect(page.locator("#survey-rows tr")).to_contain_text("Gentile, ma il video si bloccava")
    expect(page.locator("#survey-rows tr")).to_contain_text("4 / 5")
    expect(page.locator("#operator-figure-rows tr", has_text="anna").locator("td").nth(2)).to_have_text("1")

    # opened by keyboard: the focus goes to the ticket's heading
    open_button = page.get_by_role("button", name=f"Open problem report {ticket}")
    open_button.focus()
    page.keyboard.press("Enter")
    heading = page.get_by_role("heading", name=f"Problem report {ticket}")
    expect(heading).to_be_focused()
    detail = page.get_by_role("region", name=f"Problem report {ticket}")
    expect(detail).to_contain_text("Lucia (cliente-9)")

    page.get_by_label("The brand's answer").focus()
    page.keyboard.type("Ci scusi: la richiamiamo oggi.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send the answer")).to_be_focused()
    page.keyboard.press("Enter")
    said = page.locator("#ticket-status")
    expect(said).to_have_text(f"Answer sent: problem report {ticket} is answered.")
    expect(detail).to_contain_text("Marta (marta)")
    expect(page.locator("#tickets-status")).to_have_text("No problem report matches.")  # no longer open

    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Close the ticket")).to_be_focused()
    page.keyboard.press("Enter")
    expect(said).to_have_text(f"Problem report {ticket} closed.")
    expect(page.get_by_role("button", name="Send the answer")).to_be_disabled()
    page.screenshot(path=str(artifacts / "admin-ticket-closed.png"), full_page=True)

    # every status: the ticket is closed; in Italian too
    page.get_by_label("Status", exact=True).select_option("")
    page.get_by_role("button", name="Show").first.click()
    expect(page.locator("#ticket-rows tr")).to_contain_text("Closed")
    page.get_by_label("Language", exact=True).select_option("it")
    expect(page.locator("#ticket-rows tr")).to_contain_text("Chiusa")
    expect(said).to_have_text(f"Segnalazione {ticket} chiusa.")

    # the export has what the list shows, the answer included
    with page.expect_download() as download:
        page.get_by_role("button", name="Esporta segnalazioni (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [(r["ticket"], r["status"], r["answer"], r["answered_by"]) for r in rows] == [
        (str(ticket), "closed", "Ci scusi: la richiamiamo oggi.", "Marta (marta)")
    ]
    assert download.value.suggested_filename.startswith("tickets-")
    expect(page.locator("#tickets-status")).to_contain_text("scaricato")

    with httpx.Client(base_url=server, timeout=10) as http:
        audit = [
            e for e in http.get("/api/brand/audit", headers=admin).json() if e["action"].startswith("ticket.")
        ]
    assert [(e["action"], e["actor"]) for e in audit] == [
        ("ticket.answer", "Marta (marta)"),
        ("ticket.close", "Marta (marta)"),
    ]
    context.close()
