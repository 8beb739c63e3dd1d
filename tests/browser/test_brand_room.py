"""The brand's room as configured, in Chromium: a template with a scene, a colour, a logo and a
greeting, and the customer's page of a consultation in that room shows the greeting, takes the colour
and the logo (under the pages' Content-Security-Policy) and builds that scene, the colour checked
in the drawn pixels; in VR (iwer's emulated Quest 3) the chat and the product shown are panels in
the room that change when a message or a product arrives."""

from __future__ import annotations

import io
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from avatar_care.core.config import Settings
from avatar_care.core.db import open_database
from avatar_care.core.security import make_join_token
from rooms.brands import create_brand
from tests.browser.test_content_security_policy import RECORD_VIOLATIONS, until
from tests.browser.test_xr import EMULATED_HEADSET

pytestmark = pytest.mark.browser

BRAND_RED = (0xC0, 0x39, 0x2B)
LOGO_GREEN = (0x1E, 0x9E, 0x4A)
GREETING = "Benvenuti da Ottica Rossi: provate le nostre montature!"
PASSWORD = "correct horse battery"


@dataclass
class Consultation:
    server: str
    operator: dict[str, str]  # the operator's headers
    admin: dict[str, str]
    template: dict[str, Any]
    link: str  # the customer's join link

    def session_id(self) -> str:
        """The customer's session, once the queue offered it to the operator."""
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=self.server, timeout=10) as http:
            while True:
                offers = http.get("/api/queue", headers=self.operator).json()["offers"]
                if offers:
                    return str(offers[0])
                assert time.monotonic() < deadline, "the customer was never offered"
                time.sleep(0.3)

    def accept(self) -> str:
        sid = self.session_id()
        with httpx.Client(base_url=self.server, timeout=10) as http:
            r = http.post(f"/api/queue/{sid}/accept", headers=self.operator)
            assert r.status_code == 200, r.text
        return sid


def logo_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), LOGO_GREEN).save(out, format="PNG")
    return out.getvalue()


def consultation(server: str, data_dir: Path, brand_name: str, look: dict[str, Any]) -> Consultation:
    """A brand with a room of this look and its logo, an available operator, and a join link."""
    _, sessions = open_database(Settings(data_dir=data_dir))
    with sessions() as s:
        brand, key = create_brand(s, brand_name)
    admin = {"X-API-Key": key}
    with httpx.Client(base_url=server, timeout=10) as http:
        secret = http.get("/api/brand", headers=admin).json()["join_secret"]
        body = {"name": "Occhiali", "languages": ["it", "en"]} | look
        template = http.post("/api/templates", json=body, headers=admin).json()
        r = http.put(
            f"/api/templates/{template['id']}/logo", files={"file": ("logo.png", logo_png())}, headers=admin
        )
        assert r.status_code == 200, r.text
        template = r.json()
        account = {"login": "anna", "name": "Anna", "languages": ["it", "en"], "password": PASSWORD}
        assert http.post("/api/operators", json=account, headers=admin).status_code == 201
        token = http.post(
            "/api/operators/login", json={"brand_id": brand.id, "login": "anna", "password": PASSWORD}
        ).json()["token"]
        operator = {"Authorization": f"Bearer {token}"}
        r = http.put("/api/operators/me/presence", json={"presence": "available"}, headers=operator)
        assert r.status_code == 200, r.text
    claims = {
        "brand": brand.id,
        "room": template["id"],
        "sub": "cliente-9",
        "jti": uuid.uuid4().hex,
        "exp": int((datetime.now(UTC) + timedelta(minutes=10)).timestamp()),
        "name": "Lucia",
        "lang": "it",
    }
    link = f"{server}/app/customer/index.html#token={make_join_token(secret, claims)}"
    return Consultation(server, operator, admin, template, link)


def coloured_pixels(png: bytes, colour: tuple[int, int, int], tolerance: int = 8) -> int:
    """How many pixels of the screenshot are this colour, give or take ``tolerance`` a channel."""
    with Image.open(io.BytesIO(png)) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    return int(np.all(np.abs(rgb - np.array(colour, dtype=np.int16)) <= tolerance, axis=-1).sum())


def test_the_customer_page_shows_the_brands_greeting_colour_logo_and_scene(
    browser: Browser, server: str, data_dir: Path, artifacts: Path
) -> None:
    look = {"scene": "studio", "brand_color": "#C0392B", "greeting": GREETING}
    care = consultation(server, data_dir, "Ottica Rossi", look)
    logo_url = care.template["logo_url"]
    context = browser.new_context(viewport={"width": 900, "height": 900}, locale="it-IT", bypass_csp=False)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.goto(care.link)
    # the greeting from joining on, while waiting, in the page's Italian
    expect(page.locator("#greeting")).to_have_text(GREETING)
    expect(page.get_by_role("status").filter(has_text="coda")).to_contain_text("Sei 1° in coda")
    care.accept()
    expect(page.get_by_role("heading", name="Sei in consulenza con Anna")).to_be_visible()
    expect(page.locator("#greeting")).to_have_text(GREETING)

    # the colour: the page's accent and the header's border
    assert (
        page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--brand')") == "#c0392b"
    )
    border = page.evaluate("getComputedStyle(document.querySelector('header')).borderBottomColor")
    assert border == "rgb(192, 57, 43)", border
    # the logo, loaded under the policy, named in Italian
    logo = page.get_by_role("img", name="Logo del negozio")
    expect(logo).to_have_attribute("src", logo_url)
    until(page, "document.getElementById('brand-logo').naturalWidth > 0")

    # the 3D room: that scene, that colour, that logo, drawn
    until(page, "window.avatarCare && window.avatarCare.connected && window.avatarCare.logoLoaded === true")
    applied = page.evaluate(
        "({scene: avatarCare.scene, color: avatarCare.brandColor, logo: avatarCare.logoUrl})"
    )
    assert applied == {"scene": "studio", "color": "#c0392b", "logo": logo_url}
    page.wait_for_timeout(500)  # a few frames with the logo's texture
    canvas = page.locator("#customer-room canvas").first.screenshot()
    (artifacts / "brand-room-customer.png").write_bytes(canvas)
    red, green = coloured_pixels(canvas, BRAND_RED), coloured_pixels(canvas, LOGO_GREEN)
    assert red > 2000, red  # the band along the wall, in the brand's red
    assert green > 500, green  # the logo on the wall

    # in English: the page's words change, the brand's greeting is the brand's own
    page.get_by_label("Lingua", exact=True).select_option("en")
    expect(page.get_by_role("heading", name="You are talking with Anna")).to_be_visible()
    expect(page.get_by_role("img", name="The shop's logo")).to_be_visible()
    expect(page.locator("#greeting")).to_have_text(GREETING)
    violations = page.evaluate("window.__cspViolations")
    assert violations == []
    context.close()


def test_another_scene_is_built_as_configured(browser: Browser, server: str, data_dir: Path) -> None:
    """Each scene builds its own furniture: the lounge's low table, not the boutique's counter."""
    care = consultation(server, data_dir, "Moda Bianchi", {"scene": "lounge", "brand_color": "#1e4a9e"})
    page = browser.new_context(viewport={"width": 700, "height": 700}, locale="en-US").new_page()
    page.goto(care.link)
    expect(page.locator("#greeting")).to_be_hidden()  # no greeting configured: none shown
    care.accept()
    page.wait_for_function("window.avatarCare && window.avatarCare.scene !== null", timeout=60000)
    assert page.evaluate("window.avatarCare.scene") == "lounge"
    assert page.evaluate("window.avatarCare.brandColor") == "#1e4a9e"
    page.context.close()


def panels(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate("window.avatarCare.xrPanels")
    return state


def test_in_vr_the_chat_and_the_product_are_panels_in_the_room(
    browser: Browser, server: str, data_dir: Path, artifacts: Path
) -> None:
    care = consultation(server, data_dir, "Occhiali Verdi", {"scene": "boutique", "brand_color": "#1e9e4a"})
    with httpx.Client(base_url=server, timeout=10) as http:
        item = http.post(
            "/api/catalogue",
            json={
                "name": "Montatura Aria",
                "kind": "image",
                "media_url": care.template["logo_url"],  # this server's picture: drawable in the panel
                "link": "https://shop.example/aria",
                "price": "120 EUR",
            },
            headers=care.admin,
        ).json()
    context = browser.new_context(viewport={"width": 800, "height": 600}, locale="en-US")
    context.add_init_script(EMULATED_HEADSET)
    page = context.new_page()
    page.goto(care.link)
    sid = care.accept()
    page.wait_for_function("window.avatarCare && window.avatarCare.connected", timeout=60000)
    page.wait_for_function("window.avatarCare.xrPanels !== undefined", timeout=30000)
    assert panels(page)["chat"]["visible"] is False  # on a screen the page's own chat is there
    page.wait_for_function("document.querySelector('#enter-vr')?.textContent === 'ENTER VR'", timeout=15000)
    page.locator("#enter-vr").dispatch_event("click")  # as a keyboard or a screen reader presses it
    page.wait_for_function("window.avatarCare.xrPresenting === true", timeout=15000)
    state = panels(page)
    assert state["chat"]["visible"] is True and state["chat"]["lines"] == []
    assert state["product"]["visible"] is False  # nothing shown yet: no empty panel in the way

    with httpx.Client(base_url=server, timeout=10) as http:
        r = http.post(f"/api/sessions/{sid}/chat", json={"text": "Buongiorno, eccomi"}, headers=care.operator)
        assert r.status_code == 201, r.text
        page.wait_for_function("window.avatarCare.xrPanels.chat.lines.length === 1", timeout=15000)
        assert panels(page)["chat"]["lines"] == ["Operator: Buongiorno, eccomi"]
        # the customer's own message, typed on the page, reaches the panel too
        page.get_by_label("Your message", exact=True).fill("I need sunglasses")
        page.get_by_label("Your message", exact=True).press("Enter")
        page.wait_for_function("window.avatarCare.xrPanels.chat.lines.length === 2", timeout=15000)
        assert panels(page)["chat"]["lines"][-1] == "You: I need sunglasses"
        # the longest message there is, one word: drawn cut to the panel, the page goes on
        r = http.post(f"/api/sessions/{sid}/chat", json={"text": "x" * 4000}, headers=care.operator)
        assert r.status_code == 201, r.text
        page.wait_for_function("window.avatarCare.xrPanels.chat.lines.length === 3", timeout=15000)

        r = http.post(f"/api/sessions/{sid}/show", json={"item_id": item["id"]}, headers=care.operator)
        assert r.status_code == 200, r.text
    page.wait_for_function("window.avatarCare.xrPanels.product.visible === true", timeout=15000)
    assert panels(page)["product"]["name"] == "Montatura Aria"
    # the panels are in the room the headset draws: inside its view, beside the avatar
    page.wait_for_function(
        "window.avatarCare.xrPanels.chat.inView && window.avatarCare.xrPanels.product.inView", timeout=15000
    )
    assert page.evaluate("window.avatarCare.xrAvatarInView") is True
    page.screenshot(path=str(artifacts / "brand-room-xr-panels.png"))

    # in Italian, the panels' words follow
    page.get_by_label("Language", exact=True).select_option("it")
    page.wait_for_function(
        "window.avatarCare.xrPanels.chat.lines[0] === 'Operatore: Buongiorno, eccomi'", timeout=15000
    )
    page.locator("#enter-vr").dispatch_event("click")  # EXIT VR
    page.wait_for_function("window.avatarCare.xrPresenting === false", timeout=15000)
    assert panels(page)["chat"]["visible"] is False and panels(page)["product"]["visible"] is False
    context.close()
