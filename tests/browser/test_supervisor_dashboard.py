"""The supervisor's dashboard in real browsers, in Italian and in English, by keyboard alone: the
live consultation with its three buttons, the operators' states, whispering and then barging in
(the microphone flows, the audit log records each start and end) and the customer's page saying,
in its language, that a supervisor joined the conversation, and nothing of the whisper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from avatar_care.core.config import Settings
from avatar_care.core.db import open_database
from rooms.brands import create_brand
from tests.browser import test_live_room
from tests.browser.test_consultation_room import PASSWORD, SLOW, context, staffed_brand

pytestmark = pytest.mark.browser
# a browser whose microphone is a recorded voice: the supervisor whispers and barges with it
media_browser = test_live_room.media_browser


def supervision_audit(http: httpx.Client, admin: dict[str, str]) -> list[tuple[str, str]]:
    audit = http.get("/api/brand/audit", headers=admin).json()
    return [(e["action"], e["detail"]["mode"]) for e in audit if e["action"].startswith("supervision.")]


def wait_for(check: Any, page: Page) -> None:
    for _ in range(300):
        if check():
            return
        page.wait_for_timeout(100)
    raise AssertionError("the condition did not come true in 30 s")


def test_the_supervisors_dashboard_in_both_languages_by_keyboard(
    browser: Browser, media_browser: Browser, server: str, data_dir: Path, artifacts: Path
) -> None:
    with httpx.Client(base_url=server, timeout=30) as http:
        staffed = staffed_brand(http, data_dir, "Ottica Blu", "cliente-7")
        admin, tokens = staffed.admin, staffed.tokens
        anna = {"Authorization": f"Bearer {tokens['anna']}"}
        http.put("/api/operators/me/presence", json={"presence": "available"}, headers=anna)
        customer = context(media_browser, "it-IT").new_page()
        customer.goto(staffed.join_url(server))
        expect(customer.get_by_role("status").filter(has_text="coda")).to_contain_text("Sei 1° in coda")
        waiting = http.get("/api/queue", headers=anna).json()["waiting"]
        session_id = waiting[0]["session_id"]
        assert http.post(f"/api/queue/{session_id}/accept", headers=anna).status_code == 200
        expect(customer.get_by_role("heading", name="Sei in consulenza con Anna")).to_be_visible()
        notice = customer.locator("#supervision-notice")
        expect(notice).to_have_text("")
        # Anna's console, in English (a browser without a camera: the console says so and goes on)
        console = context(browser, "en-GB", tokens["anna"]).new_page()
        console.goto(f"{server}/app/operator/index.html")
        expect(console.get_by_role("heading", name="My consultations")).to_be_visible()
        told_operator = console.locator("#supervised-note")
        expect(told_operator).to_have_text("")

        # English first: the dashboard's parts, named for a screen reader
        english = context(media_browser, "en-GB", tokens["boss"]).new_page()
        english.goto(f"{server}/app/operator/index.html")
        expect(english.get_by_role("heading", name="Live consultations")).to_be_visible()
        expect(english.get_by_role("heading", name="Operators")).to_be_visible()
        for name in ("Listen", "Whisper", "Barge in"):
            expect(english.get_by_role("button", name=f"{name}: Lucia with Anna")).to_be_visible()
        anna_row = english.get_by_role("row").filter(has=english.get_by_role("rowheader", name="Anna"))
        expect(anna_row.get_by_role("cell").nth(0)).to_have_text("Busy")  # her one seat is taken
        expect(anna_row.get_by_role("cell").nth(1)).to_have_text("1")  # one consultation now
        expect(english.locator("#listen-status")).to_have_text("You are not listening.")
        english.close()

        # Italian, by keyboard: whisper, then barge in, then leave
        page = context(media_browser, "it-IT", tokens["boss"]).new_page()
        page.goto(f"{server}/app/operator/index.html")
        expect(page.get_by_role("heading", name="Consulenze in corso")).to_be_visible()
        expect(
            page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Anna"))
        ).to_contain_text("Occupato")
        status = page.locator("#listen-status")
        expect(status).to_have_text("Non stai ascoltando.")
        page.get_by_role("button", name="Suggerisci: Lucia con Anna").focus()
        page.keyboard.press("Enter")
        expect(status).to_have_text(
            "Suggerisci a Anna, il cliente non ti sente: Lucia con Anna", timeout=SLOW
        )
        pressed = page.get_by_role("button", name="Smetti di suggerire: Lucia con Anna")
        expect(pressed).to_have_attribute("aria-pressed", "true")
        expect(pressed).to_be_focused()  # the list re-rendered; the focus stayed on the button
        page.wait_for_function(
            "window.avatarCareListening && window.avatarCareListening.audioBytesSent > 2000", timeout=SLOW
        )
        wait_for(lambda: supervision_audit(http, admin) == [("supervision.start", "whisperer")], page)
        expect(notice).to_have_text("")  # the customer is never told of a whisper
        expect(told_operator).to_have_text(
            "Lucia: a supervisor is whispering to you; the customer does not hear them.", timeout=SLOW
        )

        page.keyboard.press("Tab")  # to the next button, "barge in"
        expect(page.get_by_role("button", name="Intervieni: Lucia con Anna")).to_be_focused()
        page.keyboard.press("Enter")
        expect(status).to_have_text(
            "Nella conversazione: Lucia con Anna. Il cliente è avvisato del tuo intervento.", timeout=SLOW
        )
        expect(notice).to_have_text(
            "Un responsabile si è unito alla conversazione: ti sente e puoi parlargli.", timeout=SLOW
        )
        page.wait_for_function(
            "window.avatarCareListening.role === 'barger' && window.avatarCareListening.audioBytesSent > 2000",
            timeout=SLOW,
        )
        expect(told_operator).to_have_text(
            "Lucia: a supervisor has joined the conversation; the customer hears them and is told.",
            timeout=SLOW,
        )
        page.screenshot(path=str(artifacts / "supervisor-dashboard.png"), full_page=True)
        leave = page.get_by_role("button", name="Lascia la conversazione: Lucia con Anna")
        expect(leave).to_be_focused()
        page.keyboard.press("Enter")
        expect(status).to_have_text("Non stai ascoltando.")
        expect(notice).to_have_text("", timeout=SLOW)
        expect(told_operator).to_have_text("", timeout=SLOW)
        wait_for(lambda: len(supervision_audit(http, admin)) == 4, page)
        assert supervision_audit(http, admin) == [
            ("supervision.start", "whisperer"),
            ("supervision.end", "whisperer"),
            ("supervision.start", "barger"),
            ("supervision.end", "barger"),
        ]
        page.close()
        console.close()
        customer.close()


def test_the_admin_chooses_by_keyboard_whether_customers_are_told_of_listening(
    browser: Browser, server: str, data_dir: Path
) -> None:
    _, sessions = open_database(Settings(data_dir=data_dir))
    with sessions() as s:
        brand, key = create_brand(s, "Ottica Viola")
    admin = {"X-API-Key": key}
    with httpx.Client(base_url=server, timeout=30) as http:
        body = {"login": "marta", "name": "Marta", "languages": ["it"], "role": "admin", "password": PASSWORD}
        assert http.post("/api/operators", json=body, headers=admin).status_code == 201
        for locale, label in (
            ("en-GB", "Tell customers when a supervisor listens to the consultation"),
            ("it-IT", "Avvisa i clienti quando un responsabile ascolta la consulenza"),
        ):
            page = context(browser, locale).new_page()
            page.goto(f"{server}/app/admin/index.html")
            page.locator("#sign-in-brand").fill(str(brand.id))
            page.locator("#sign-in-login").fill("marta")
            page.locator("#sign-in-password").fill(PASSWORD)
            page.keyboard.press("Enter")  # the form is sent from the password's field
            box = page.get_by_role("checkbox", name=label)
            expect(box).to_be_visible()
            was = http.get("/api/brand", headers=admin).json()["listening_announced"]
            expect(box).to_be_checked(checked=was)
            box.focus()
            page.keyboard.press("Space")
            wait_for(
                lambda w=was: http.get("/api/brand", headers=admin).json()["listening_announced"] is not w,
                page,
            )
            page.close()
        audit = http.get("/api/brand/audit", headers=admin).json()
        changes = [e["detail"] for e in audit if e["action"] == "brand.listening_announced"]
        assert changes == [{"announced": True}, {"announced": False}]
