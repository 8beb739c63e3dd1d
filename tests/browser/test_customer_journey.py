"""A customer joins with a signed link, waits, is accepted by an operator, chats, ends and rates;
the brand admin's page shows the figures change. Three browser contexts against one real server."""

from __future__ import annotations

import re
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


def test_customer_journey(browser: Browser, server: str, data_dir: Path, artifacts: Path) -> None:
    _, sessions = open_database(Settings(data_dir=data_dir))
    with sessions() as s:
        brand, key = create_brand(s, "Ottica Rossi")
    admin_headers = {"X-API-Key": key}
    with httpx.Client(base_url=server, timeout=10) as http:
        secret = http.get("/api/brand", headers=admin_headers).json()["join_secret"]
        room = http.post(
            "/api/templates", json={"name": "Occhiali", "languages": ["it", "en"]}, headers=admin_headers
        ).json()
        r = http.post(
            "/api/operators",
            headers=admin_headers,
            json={
                "login": "anna",
                "name": "Anna",
                "languages": ["it", "en"],
                "password": "correct horse battery",
            },
        )
        assert r.status_code == 201
    exp = int((datetime.now(UTC) + timedelta(minutes=10)).timestamp())
    link_token = make_join_token(
        secret,
        {
            "brand": brand.id,
            "room": room["id"],
            "sub": "cliente-7",
            "jti": uuid.uuid4().hex,
            "exp": exp,
            "name": "Lucia",
            "lang": "it",
        },
    )

    admin_account = {"login": "giulia", "name": "Giulia", "languages": ["it"], "role": "admin"}
    admin_account["password"] = "la cassa chiude alle sette"
    with httpx.Client(base_url=server) as http:
        assert http.post("/api/operators", json=admin_account, headers=admin_headers).status_code == 201
    admin = browser.new_context(locale="en-GB").new_page()
    admin.goto(f"{server}/app/admin/index.html")  # a person signs in; the API key stays with the servers
    admin.get_by_label("Brand number", exact=True).fill(str(brand.id))
    admin.get_by_role("textbox", name="Login", exact=True).fill("giulia")
    admin.get_by_label("Password", exact=True).fill("la cassa chiude alle sette")
    admin.get_by_role("button", name="Sign in").click()
    expect(admin.get_by_text("Signed in as Giulia")).to_be_visible()
    expect(admin.locator("#figure-answered")).to_have_text("0")

    customer = browser.new_context(locale="it-IT").new_page()
    customer.goto(f"{server}/app/customer/index.html#token={link_token}")
    status = customer.get_by_role("status").filter(has_text="coda")
    expect(status).to_contain_text("Sei 1° in coda")
    expect(customer).not_to_have_url(re.compile("token="))  # the spent link leaves the address bar

    operator = browser.new_context(locale="en-GB").new_page()
    operator.goto(f"{server}/app/operator/index.html")
    operator.get_by_label("Brand number", exact=True).fill(str(brand.id))
    operator.get_by_label("Login", exact=True).fill("anna")
    operator.get_by_label("Password", exact=True).fill("correct horse battery")
    operator.get_by_label("Password", exact=True).press("Enter")
    operator.get_by_label("Presence", exact=True).select_option("available")
    accept = operator.get_by_role("button", name="Accept")
    expect(accept).to_be_visible()
    accept.focus()
    operator.keyboard.press("Enter")

    expect(customer.get_by_role("heading", name="Sei in consulenza con Anna")).to_be_visible()
    customer.get_by_label("Il tuo messaggio", exact=True).fill("Buongiorno, cerco occhiali da sole")
    customer.get_by_label("Il tuo messaggio", exact=True).press("Enter")
    expect(operator.locator(".chat-log")).to_contain_text("Buongiorno, cerco occhiali da sole")
    operator.get_by_label("Message", exact=True).fill("Certo, le mostro la nuova collezione")
    operator.get_by_label("Message", exact=True).press("Enter")
    expect(customer.locator("#chat-log")).to_contain_text("Certo, le mostro la nuova collezione")
    # the page switches language on request and remembers it
    customer.get_by_label("Lingua", exact=True).select_option("en")
    expect(customer.get_by_role("button", name="End the consultation")).to_be_visible()
    customer.get_by_role("button", name="End the consultation").click()

    customer.get_by_label("5", exact=True).check()
    customer.get_by_label("Comment (optional)", exact=True).fill("Molto gentile")
    customer.get_by_role("button", name="Send").click()
    expect(customer.get_by_role("heading", name="Thank you!")).to_be_visible()

    expect(admin.locator("#figure-answered")).to_have_text("1")
    expect(admin.locator("#figure-csat")).to_contain_text("5.0 / 5 (1)")
    expect(admin.locator("#figure-service-level")).to_have_text("100%")
    admin.screenshot(path=str(artifacts / "care-admin-figures.png"), full_page=True)
    operator.screenshot(path=str(artifacts / "care-operator-console.png"), full_page=True)


def test_nobody_at_work_the_customer_leaves_a_message_by_keyboard(
    browser: Browser, server: str, data_dir: Path
) -> None:
    _, sessions = open_database(Settings(data_dir=data_dir))
    with sessions() as s:
        brand, key = create_brand(s, "Moda Bianchi")
    admin_headers = {"X-API-Key": key}
    with httpx.Client(base_url=server, timeout=10) as http:
        room = http.post(
            "/api/templates",
            json={"name": "Abiti", "languages": ["en", "it"], "allow_anonymous": True},
            headers=admin_headers,
        ).json()
        http.post(
            "/api/operators",
            headers=admin_headers,
            json={
                "login": "bea",
                "name": "Bea",
                "languages": ["en"],
                "password": "correct horse battery",
                "role": "supervisor",
            },
        )
        token = http.post(
            "/api/operators/login",
            json={"brand_id": brand.id, "login": "bea", "password": "correct horse battery"},
        ).json()["token"]

    customer = browser.new_context(locale="en-US").new_page()
    customer.goto(f"{server}/app/customer/index.html?room={room['id']}")
    expect(customer.get_by_role("status").filter(has_text="queue")).to_have_text(
        "You are number 1 in the queue."
    )
    expect(customer.get_by_text("It is taking a while")).to_be_visible()
    customer.get_by_label("E-mail or phone", exact=True).fill("giulia@example.org")
    customer.keyboard.press("Tab")
    customer.keyboard.type("Do you have the blue dress in size 42?")
    customer.get_by_label("Message", exact=True).press("Tab")
    customer.get_by_role("button", name="Send").focus()
    customer.keyboard.press("Enter")
    expect(customer.get_by_role("heading", name="Received: we will get back to you.")).to_be_visible()

    operator = browser.new_context(locale="en-US")
    operator.add_init_script(f"localStorage.setItem('avatar-care.operator-token', '{token}')")
    page = operator.new_page()
    page.goto(f"{server}/app/operator/index.html")
    expect(page.locator("#callback-list")).to_contain_text("giulia@example.org")
    expect(page.locator("#callback-list")).to_contain_text("blue dress in size 42")
    expect(page.locator("#queue-summary")).to_have_text("0 waiting, 0 offered to you")
    # a supervisor also watches the figures: one consultation, abandoned for a message
    figures = page.get_by_role("region", name="Live figures (last 24 hours)")
    expect(figures).to_contain_text("Abandonment100%")
