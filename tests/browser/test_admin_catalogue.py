"""The brand admin's page: products added, changed and deleted in the catalogue section by their
labels and named buttons (as a screen reader's user finds them), in English and Italian; and a room
created with its scene, colour and logo, shown in the room's row."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Dialog, expect

from tests.browser.test_admin_avatars import signed_in_admin

pytestmark = pytest.mark.browser


def accept(dialog: Dialog) -> None:
    dialog.accept()


def test_the_admin_adds_changes_and_deletes_products(
    browser: Browser, server: str, data_dir: Path, artifacts: Path
) -> None:
    page = signed_in_admin(browser, server, data_dir)
    section = page.get_by_role("region", name="Catalogue")
    expect(section.get_by_text("No products in the catalogue.")).to_be_visible()
    status = section.get_by_role("status")

    form = page.locator("#catalogue-form")
    form.get_by_label("Name").fill("Montatura Aria")
    form.get_by_label("Kind").select_option("image")
    form.get_by_label("Address of the picture or model").fill("/assets/aria.png")
    form.get_by_label("Link to the shop").fill("https://shop.example/aria")
    form.get_by_label("Price").fill("120 EUR")
    form.get_by_label("Price").press("Enter")
    expect(status).to_have_text("Product “Montatura Aria” added.")
    row = page.locator("#catalogue-rows tr", has_text="Montatura Aria")
    expect(row).to_contain_text("Picture")
    expect(row).to_contain_text("120 EUR")
    expect(section.get_by_text("No products in the catalogue.")).to_be_hidden()

    # a name of spaces alone is refused by the server, said in the page, and nothing is added
    form.get_by_label("Name").fill("   ")
    form.get_by_label("Kind").select_option("model")
    form.get_by_label("Address of the picture or model").fill("/assets/sole.glb")
    form.get_by_label("Link to the shop").fill("https://shop.example/sole")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Error:")
    expect(page.locator("#catalogue-rows tr")).to_have_count(1)
    form.get_by_label("Name").fill("Occhiale Sole")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(status).to_have_text("Product “Occhiale Sole” added.")
    expect(page.locator("#catalogue-rows tr")).to_have_count(2)

    # edit by keyboard: the row's button names its product; the form says what it edits
    edit = page.get_by_role("button", name="Edit Montatura Aria")
    edit.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Editing “Montatura Aria”")).to_be_visible()
    expect(form.get_by_label("Name")).to_be_focused()
    form.get_by_label("Name").fill("Montatura Aria Blu")
    form.get_by_label("Kind").select_option("model")
    form.get_by_label("Price").fill("99 EUR")
    page.get_by_role("button", name="Save changes").click()
    expect(status).to_have_text("Product “Montatura Aria Blu” saved.")
    row = page.locator("#catalogue-rows tr", has_text="Montatura Aria Blu")
    expect(row).to_contain_text("3D model")
    expect(row).to_contain_text("99 EUR")
    expect(page.locator("#catalogue-rows tr")).to_have_count(2)
    expect(page.get_by_role("heading", name="Add a product")).to_be_visible()

    # in Italian; delete asks first (a dismissed question deletes nothing)
    page.get_by_label("Language", exact=True).select_option("it")
    expect(page.get_by_role("region", name="Catalogo")).to_be_visible()
    row = page.locator("#catalogue-rows tr", has_text="Montatura Aria Blu")
    expect(row).to_contain_text("Modello 3D")
    page.once("dialog", lambda d: d.dismiss())
    page.get_by_role("button", name="Elimina Montatura Aria Blu").click()
    page.wait_for_timeout(300)
    expect(page.locator("#catalogue-rows tr")).to_have_count(2)
    page.once("dialog", accept)
    page.get_by_role("button", name="Elimina Montatura Aria Blu").click()
    expect(page.get_by_role("region", name="Catalogo").get_by_role("status")).to_have_text(
        "Prodotto «Montatura Aria Blu» eliminato."
    )
    expect(page.locator("#catalogue-rows tr")).to_have_count(1)
    expect(page.locator("#catalogue-title")).to_be_focused()  # the focus does not vanish with the row

    # what the server keeps is what the page showed
    token = page.evaluate("sessionStorage.getItem('avatar-care.admin-token')")
    items = httpx.get(f"{server}/api/catalogue", headers={"Authorization": f"Bearer {token}"}).json()
    assert [(i["name"], i["kind"]) for i in items] == [("Occhiale Sole", "model")]
    page.screenshot(path=str(artifacts / "admin-catalogue.png"), full_page=True)


def test_the_admin_creates_a_room_with_its_scene_colour_and_logo(
    browser: Browser, server: str, data_dir: Path, tmp_path: Path
) -> None:
    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 60), "#1e9e4a").save(logo)
    not_a_logo = tmp_path / "logo.svg"
    not_a_logo.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    page = signed_in_admin(browser, server, data_dir)
    form = page.locator("#template-form")
    form.get_by_label("Name", exact=True).fill("Occhiali da sole")
    form.get_by_label("Scene").select_option("lounge")
    form.get_by_label("Greeting").fill("Benvenuti!")
    form.get_by_label("Brand colour").fill("#c0392b")
    form.get_by_label("Logo (PNG, JPEG or WebP, up to 2 MB)").set_input_files(str(logo))
    form.get_by_role("button", name="Create").click()
    status = page.locator("#templates-status")
    expect(status).to_have_text("Room “Occhiali da sole” created.")
    row = page.locator("#template-rows tr", has_text="Occhiali da sole")
    expect(row).to_contain_text("lounge")
    expect(row).to_contain_text("#c0392b")
    expect(row.get_by_role("img", name="Logo of Occhiali da sole")).to_be_visible()
    page.wait_for_function(
        "[...document.querySelectorAll('#template-rows img')].some((i) => i.naturalWidth === 120)"
    )

    # a refused logo: the room is made, the page says the logo was not taken and why
    form.get_by_label("Name", exact=True).fill("Abiti")
    form.get_by_label("Logo (PNG, JPEG or WebP, up to 2 MB)").set_input_files(str(not_a_logo))
    form.get_by_role("button", name="Create").click()
    expect(page.get_by_role("alert")).to_contain_text("Room “Abiti” created, but its logo was refused:")
    expect(page.get_by_role("alert")).to_contain_text("not a picture")
    expect(page.locator("#template-rows tr", has_text="Abiti")).to_contain_text("no logo")

    # an existing room's look changed in its row, every field named with the room's name
    page.get_by_label("Scene of Abiti", exact=True).select_option("studio")
    page.get_by_label("Colour of Abiti", exact=True).fill("#123456")
    page.get_by_label("Greeting of Abiti", exact=True).fill("Ciao!")
    page.get_by_label("New logo of Abiti", exact=True).set_input_files(str(logo))
    page.get_by_role("button", name="Save the scene, colour, greeting and logo of Abiti").click()
    expect(status).to_have_text("Room “Abiti” saved.")
    row = page.locator("#template-rows tr", has_text="Abiti")
    expect(row).to_contain_text("studio")
    expect(row).to_contain_text("#123456")
    expect(row.get_by_role("img", name="Logo of Abiti")).to_be_visible()
    expect(
        page.get_by_role("button", name="Save the scene, colour, greeting and logo of Abiti")
    ).to_be_focused()
    page.get_by_role("button", name="Remove the logo of Occhiali da sole").click()
    expect(status).to_have_text("Logo of “Occhiali da sole” removed.")
    expect(page.locator("#template-rows tr", has_text="Occhiali da sole")).to_contain_text("no logo")
    token = page.evaluate("sessionStorage.getItem('avatar-care.admin-token')")
    rooms = httpx.get(f"{server}/api/templates", headers={"Authorization": f"Bearer {token}"}).json()
    looks = {
        r["name"]: (r["scene"], r["brand_color"], r["greeting"], r["logo_url"] is not None) for r in rooms
    }
    assert looks == {
        "Occhiali da sole": ("lounge", "#c0392b", "Benvenuti!", False),
        "Abiti": ("studio", "#123456", "Ciao!", True),
    }

    page.get_by_label("Language", exact=True).select_option("it")
    row = page.locator("#template-rows tr", has_text="Occhiali da sole")
    expect(row).to_contain_text("salotto")
    expect(page.get_by_label("Scena di Abiti", exact=True)).to_have_value("studio")
    expect(
        page.locator("#template-rows tr", has_text="Abiti").get_by_role("img", name="Logo di Abiti")
    ).to_be_visible()
    expect(page.locator("#template-form").get_by_label("Colore del brand")).to_be_visible()
