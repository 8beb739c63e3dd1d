"""A warm transfer in the pages, then the wrap-up: operator Anna (console in English) consults
Bruno (console in Italian) about a customer (page in Italian), they write to each other, Anna
hands over, and the customer finds themselves with Bruno, in Bruno's live room, with their chat and
cart intact. Bruno ends; the room requires a wrap-up code, and the next customer is not offered to
him until he gives it. Four browser contexts against one real server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from avatar_care.core.config import Settings
from avatar_care.core.db import open_database
from avatar_care.core.security import make_join_token
from rooms.brands import create_brand

pytestmark = pytest.mark.browser

#: a headless Chromium rendering in software on a shared machine: the room takes its time to load
SLOW = 120_000


def _console(browser: Browser, server: str, token: str, locale: str) -> Page:
    context = browser.new_context(locale=locale)
    context.add_init_script(f"localStorage.setItem('avatar-care.operator-token', '{token}')")
    page = context.new_page()
    page.goto(f"{server}/app/operator/index.html")
    return page


def test_warm_transfer_keeps_chat_and_cart_and_a_required_code_comes_before_the_next_offer(
    browser: Browser, server: str, data_dir: Path, artifacts: Path
) -> None:
    _, sessions = open_database(Settings(data_dir=data_dir))
    with sessions() as s:
        brand, key = create_brand(s, "Ottica Verdi")
    admin = {"X-API-Key": key}
    with httpx.Client(base_url=server, timeout=10) as http:
        secret = http.get("/api/brand", headers=admin).json()["join_secret"]
        room = http.post(
            "/api/templates",
            json={
                "name": "Occhiali",
                "languages": ["it", "en"],
                "wrap_up_codes": ["vendita", "informazioni"],
                "wrap_up_required": True,
                "after_call_s": 5,
            },
            headers=admin,
        ).json()
        http.post(
            "/api/catalogue",
            json={
                "name": "Occhiali Aria",
                "kind": "image",
                "media_url": "/x.png",
                "link": "https://example.com/aria",
            },
            headers=admin,
        ).json()
        tokens = {}
        for login in ("anna", "bruno"):
            account = {
                "login": login,
                "name": login.title(),
                "languages": ["it", "en"],
                "password": "pw " * 6,
            }
            assert http.post("/api/operators", json=account, headers=admin).status_code == 201
            r = http.post(
                "/api/operators/login", json={"brand_id": brand.id, "login": login, "password": "pw " * 6}
            )
            tokens[login] = r.json()["token"]

    def link(name: str) -> str:
        exp = int((datetime.now(UTC) + timedelta(minutes=10)).timestamp())
        claims = {"brand": brand.id, "room": room["id"], "sub": name, "jti": uuid.uuid4().hex, "exp": exp}
        return make_join_token(secret, {**claims, "name": name, "lang": "it"})

    anna = _console(browser, server, tokens["anna"], "en-GB")
    anna.get_by_label("Presence", exact=True).select_option("available")  # the longest idle: offered first
    expect(anna.get_by_text("0 waiting, 0 offered to you")).to_be_visible()
    bruno = _console(browser, server, tokens["bruno"], "it-IT")
    bruno.get_by_label("Presenza", exact=True).select_option("available")
    expect(bruno.get_by_text("0 in attesa, 0 offerti a te")).to_be_visible()

    customer = browser.new_context(locale="it-IT").new_page()
    customer.goto(f"{server}/app/customer/index.html#token={link('Lucia')}")
    expect(anna.get_by_role("button", name="Accept")).to_be_visible(timeout=SLOW)
    anna.get_by_role("button", name="Accept").focus()
    anna.keyboard.press("Enter")
    expect(customer.locator("#connected-title")).to_have_text("Sei in consulenza con Anna", timeout=SLOW)
    customer.get_by_label("Il tuo messaggio", exact=True).fill("Buongiorno, vorrei cambiare la montatura")
    customer.get_by_label("Il tuo messaggio", exact=True).press("Enter")
    expect(anna.locator(".chat-log").first).to_contain_text("vorrei cambiare la montatura")
    anna.get_by_label("Product", exact=True).select_option(label="Occhiali Aria")
    anna.get_by_role("button", name="Add to cart").click()
    expect(customer.locator("#cart-lines")).to_contain_text("1 × Occhiali Aria")

    # the consult: Anna asks Bruno, who joins; they write to each other, the customer sees none of it
    anna.get_by_label("Transfer to", exact=True).select_option(label="Colleague: Bruno (Available)")
    anna.get_by_role("button", name="Consult colleague").click()
    expect(anna.get_by_text("Consult asked of Bruno: waiting for them to join.")).to_be_visible()
    asked = bruno.get_by_role("region", name="Consulti chiesti a te")
    expect(asked).to_contain_text("Anna ti chiede un consulto su Lucia")
    asked.get_by_role("button", name="Partecipa al consulto").focus()
    bruno.keyboard.press("Enter")
    bruno.get_by_label("Messaggio al collega", exact=True).fill("Passamela pure, ci penso io")
    bruno.get_by_label("Messaggio al collega", exact=True).press("Enter")
    expect(anna.get_by_role("group", name="Consult with Bruno")).to_contain_text("Colleague: Passamela pure")
    expect(customer.locator("#chat-log")).not_to_contain_text("Passamela")

    anna.get_by_role("button", name="Hand over").click()
    expect(customer.locator("#connected-title")).to_have_text("Sei in consulenza con Bruno", timeout=SLOW)
    expect(customer.locator("#chat-log")).to_contain_text("vorrei cambiare la montatura")
    expect(customer.locator("#cart-lines")).to_contain_text("1 × Occhiali Aria")
    mine = bruno.get_by_role("region", name="Le mie consulenze")
    expect(mine).to_contain_text("Lucia")
    expect(mine.locator(".chat-log").first).to_contain_text("vorrei cambiare la montatura")
    expect(anna.locator("#session-list")).to_have_text("None")
    # the customer's page joins Bruno's room: signaling admits the customer only in their session's
    # current room, and the page's live state is made anew for it
    customer.wait_for_function("window.avatarCare && window.avatarCare.connected", timeout=SLOW)
    bruno.get_by_label("Messaggio", exact=True).fill("Sono Bruno, eccomi")
    bruno.get_by_label("Messaggio", exact=True).press("Enter")
    expect(customer.locator("#chat-log")).to_contain_text("Sono Bruno, eccomi")

    # Bruno ends: a code is required, so the next customer waits for it (Anna is away)
    anna.get_by_label("Presence", exact=True).select_option("away")
    mine.get_by_role("button", name="Termina").click()
    after_call = bruno.get_by_role("region", name="Lavoro post-chiamata")
    expect(after_call).to_contain_text("Non ricevi nuove offerte")
    expect(after_call.get_by_label("Codice di chiusura per Lucia (obbligatorio)")).to_be_visible()
    second = browser.new_context(locale="it-IT").new_page()
    second.goto(f"{server}/app/customer/index.html#token={link('Marco')}")
    expect(second.get_by_role("status").filter(has_text="coda")).to_contain_text(
        "Sei 1° in coda", timeout=SLOW
    )
    expect(bruno.locator("#queue-rows")).to_contain_text("Marco")
    bruno.wait_for_timeout(6000)  # past the 5 s time box: still nothing without the code
    expect(bruno.get_by_role("button", name="Accetta")).to_have_count(0)
    code = after_call.get_by_label("Codice di chiusura per Lucia (obbligatorio)")
    after_call.get_by_role("button", name="Chiudi il lavoro post-chiamata").click()
    assert code.evaluate("select => !select.validity.valid")  # the page asks for the code first
    expect(bruno.get_by_role("button", name="Accetta")).to_have_count(0)
    code.select_option("vendita")
    after_call.get_by_role("button", name="Chiudi il lavoro post-chiamata").click()
    expect(bruno.get_by_role("button", name="Accetta")).to_be_visible(timeout=SLOW)
    expect(after_call).to_contain_text("Nessun lavoro post-chiamata")
    bruno.screenshot(path=str(artifacts / "transfers-console-it.png"), full_page=True)
    with httpx.Client(base_url=server, timeout=10) as http:
        f = http.get("/api/figures", headers=admin).json()
        giulia = {
            "login": "giulia",
            "name": "Giulia",
            "languages": ["it"],
            "role": "admin",
            "password": "pw " * 6,
        }
        assert http.post("/api/operators", json=giulia, headers=admin).status_code == 201
    assert f["wrap_up_codes"] == {"vendita": 1}
    assert f["average_after_call_s"] >= 6  # from the end to the code, past the 5 s time box
    # the brand's figures page shows the codes and the after-call time, in English
    page = browser.new_context(locale="en-GB").new_page()
    page.goto(f"{server}/app/admin/index.html")
    page.get_by_label("Brand number", exact=True).fill(str(brand.id))
    page.get_by_role("textbox", name="Login", exact=True).fill("giulia")
    page.get_by_label("Password", exact=True).fill("pw " * 6)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#figure-wrap-up-codes")).to_have_text("vendita: 1")
    expect(page.get_by_text("Average after-call work")).to_be_visible()
    expect(page.locator("#figure-after-call")).not_to_have_text("—")


def test_cold_transfer_to_another_room_in_english(browser: Browser, server: str, data_dir: Path) -> None:
    """Anna (console in Italian) transfers a customer (page in English) to another room by keyboard:
    the page says they are being passed on and stay first in the queue; Carla, of that room, takes
    them with their chat."""
    _, sessions = open_database(Settings(data_dir=data_dir))
    with sessions() as s:
        brand, key = create_brand(s, "Ottica Neri")
    admin = {"X-API-Key": key}
    with httpx.Client(base_url=server, timeout=10) as http:
        secret = http.get("/api/brand", headers=admin).json()["join_secret"]
        rooms = [
            http.post("/api/templates", json=body, headers=admin).json()
            for body in (
                {"name": "Occhiali", "languages": ["it", "en"], "skills": ["optics"]},
                {"name": "Fatture", "languages": ["it", "en"], "skills": ["billing"]},
            )
        ]
        tokens = {}
        for login, skills in (("anna", ["optics"]), ("carla", ["billing"])):
            account = {"login": login, "name": login.title(), "languages": ["it", "en"], "skills": skills}
            assert (
                http.post("/api/operators", json=account | {"password": "pw " * 6}, headers=admin).status_code
                == 201
            )
            r = http.post(
                "/api/operators/login", json={"brand_id": brand.id, "login": login, "password": "pw " * 6}
            )
            tokens[login] = r.json()["token"]
    exp = int((datetime.now(UTC) + timedelta(minutes=10)).timestamp())
    claims = {"brand": brand.id, "room": rooms[0]["id"], "sub": "tom", "jti": uuid.uuid4().hex, "exp": exp}
    link = make_join_token(secret, {**claims, "name": "Tom", "lang": "en"})

    anna = _console(browser, server, tokens["anna"], "it-IT")
    anna.get_by_label("Presenza", exact=True).select_option("available")
    customer = browser.new_context(locale="en-GB").new_page()
    customer.goto(f"{server}/app/customer/index.html#token={link}")
    anna.get_by_role("button", name="Accetta").click(timeout=SLOW)
    expect(customer.locator("#connected-title")).to_have_text("You are talking with Anna", timeout=SLOW)
    customer.get_by_label("Your message", exact=True).fill("I was billed twice")
    customer.get_by_label("Your message", exact=True).press("Enter")
    expect(anna.locator(".chat-log").first).to_contain_text("I was billed twice")
    anna.get_by_label("Trasferisci a", exact=True).select_option(label="Stanza: Fatture")
    anna.get_by_role("button", name="Trasferisci", exact=True).focus()
    anna.keyboard.press("Enter")
    expect(customer.locator("#waiting-title")).to_have_text(
        "We are passing you to a colleague: you stay at the front of the queue"
    )
    expect(customer.locator("#position-status")).to_contain_text("You are number 1 in the queue")
    expect(anna.locator("#session-list")).to_have_text("Nessuna")
    carla = _console(browser, server, tokens["carla"], "en-GB")
    carla.get_by_label("Presence", exact=True).select_option("available")
    carla.get_by_role("button", name="Accept").click(timeout=SLOW)
    expect(customer.locator("#connected-title")).to_have_text("You are talking with Carla", timeout=SLOW)
    expect(customer.locator("#chat-log")).to_contain_text("I was billed twice")
    expect(carla.locator(".chat-log").first).to_contain_text("I was billed twice")
