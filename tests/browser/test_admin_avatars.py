"""The brand admin uploads avatars on the admin page: one without face morphs is accepted, and the
page says what it will not do (after the upload, in a status region, and in the avatar list), in
English and in Italian; an avatar with a face has no warning, and a refused file says why."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from avatar_care.core.config import Settings
from avatar_care.core.db import open_database
from rooms.brands import create_brand
from tests.avatar_care.avatars.morphless import without_face_morphs

pytestmark = pytest.mark.browser

SHIPPED = Path(__file__).resolve().parents[2] / "assets" / "avatars" / "Asian_F_1_Casual.vrm"
PASSWORD = "il negozio apre alle nove"


def signed_in_admin(browser: Browser, server: str, data_dir: Path) -> Page:
    _, sessions = open_database(Settings(data_dir=data_dir))
    with sessions() as s:
        brand, key = create_brand(s, "Occhiali Bianchi")
    account = {"login": "marta", "name": "Marta", "languages": ["it"], "role": "admin", "password": PASSWORD}
    with httpx.Client(base_url=server, timeout=10) as http:
        assert http.post("/api/operators", json=account, headers={"X-API-Key": key}).status_code == 201
    page = browser.new_context(locale="en-GB").new_page()
    page.goto(f"{server}/app/admin/index.html")
    page.get_by_label("Brand number", exact=True).fill(str(brand.id))
    page.get_by_role("textbox", name="Login", exact=True).fill("marta")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as Marta")).to_be_visible()
    return page


def upload(page: Page, name: str, file: Path, file_label: str, button: str) -> None:
    """Fills the upload form by its labels, as a screen reader's user finds it."""
    page.locator("#avatar-form").get_by_label(file_label).set_input_files(str(file))
    page.locator("#avatar-form").get_by_role("textbox").fill(name)
    page.get_by_role("button", name=button, exact=True).click()


def upload_en(page: Page, name: str, file: Path) -> None:
    upload(page, name, file, "File (VRM 0.x/1.0 or GLB)", "Upload")


def test_a_morphless_avatar_is_uploaded_with_its_warning_shown(
    browser: Browser, server: str, data_dir: Path, tmp_path: Path, artifacts: Path
) -> None:
    still = tmp_path / "still-face.vrm"
    still.write_bytes(without_face_morphs(SHIPPED.read_bytes()))
    broken = tmp_path / "broken.vrm"
    broken.write_bytes(b"glTF not really")
    page = signed_in_admin(browser, server, data_dir)
    status = page.get_by_role("status").filter(has_text="Avatar")

    upload_en(page, "Volto fermo", still)
    expect(status).to_contain_text("Avatar “Volto fermo” uploaded.")
    expect(status).to_contain_text(
        "No face morphs for aa, blink: the mouth will not move with speech; the eyes will not blink."
    )
    row = page.locator("#avatar-rows tr", has_text="Volto fermo")
    expect(row).to_contain_text("No face morphs for aa, blink")
    expect(row).to_contain_text("vrm1")
    # the room form can pick it
    expect(page.locator("#t-avatar option", has_text="Volto fermo")).to_have_count(1)
    page.screenshot(path=str(artifacts / "admin-avatar-warning.png"), full_page=True)

    # an avatar with a face: uploaded, no warning, in the status or in its row
    upload_en(page, "Con il viso", SHIPPED)
    expect(status).to_contain_text("Avatar “Con il viso” uploaded.")
    expect(status).not_to_contain_text("No face morphs")
    expect(page.locator("#avatar-rows tr", has_text="Con il viso").locator("td").last).to_have_text("—")

    # a file that is no avatar: refused with the server's reasons, and the list unchanged
    upload_en(page, "Rotto", broken)
    expect(page.get_by_role("alert")).to_contain_text("Avatar refused:")
    expect(page.locator("#avatar-rows tr")).to_have_count(2)

    # the same warning in Italian, in the list
    page.get_by_label("Language", exact=True).select_option("it")
    row = page.locator("#avatar-rows tr", has_text="Volto fermo")
    expect(row).to_contain_text(
        "Nessuna espressione del viso per aa, blink: la bocca non si muoverà con la voce; "
        "gli occhi non sbatteranno le palpebre."
    )
    expect(page.get_by_role("columnheader", name="Avvertenze")).to_be_visible()

    # signed out, nothing of the brand's avatars stays on the page
    upload(page, "Volto fermo 2", still, "File (VRM 0.x/1.0 o GLB)", "Carica")
    expect(status).to_contain_text("Avatar «Volto fermo 2» caricato.")
    expect(status).to_contain_text("Nessuna espressione del viso per aa, blink")
    page.get_by_role("button", name="Esci").click()
    expect(page.locator("#avatar-rows tr")).to_have_count(0)
    expect(page.locator("#avatar-status")).to_have_text("")
