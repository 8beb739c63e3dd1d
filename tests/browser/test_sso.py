"""Single sign-on in Chromium: a person signs in at the admin page through the brand's OpenID
provider (a real one the test starts: tests/oidc/provider.mjs) and lands signed in; a person outside
the brand's rule is sent back with the reason in their language. The pages run under their CSP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from avatar_care.core.config import Settings
from avatar_care.core.db import open_database
from rooms.brands import create_brand
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, running_provider

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def issuer(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_provider([f"{server}/api/sso/callback"], tmp_path_factory.mktemp("oidc")) as url:
        yield url


@pytest.fixture(scope="module")
def brand_id(server: str, data_dir: Path, issuer: str) -> int:
    """A brand whose people sign in at the provider: addresses of ottica.example, in care-team."""
    engine, sessions = open_database(Settings(data_dir=data_dir))
    with sessions() as s:
        brand, key = create_brand(s, "Ottica Rossi")
    engine.dispose()
    oidc = {
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "email_domain": "ottica.example",
        "group": "care-team",
    }
    r = httpx.put(
        f"{server}/api/brand/sign-in",
        json={"local_passwords": False, "oidc": oidc},
        headers={"X-API-Key": key},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return brand.id


def sign_in_by_keyboard(page: Page, server: str, brand_id: int, sso_label: str, brand_label: str) -> None:
    page.goto(f"{server}/app/admin/index.html")
    form = page.get_by_role("form", name=sso_label)
    form.get_by_label(brand_label).fill(str(brand_id))
    form.get_by_label(brand_label).press("Enter")


def at_the_provider(page: Page, login: str) -> None:
    """The provider's development sign-in page, then its consent page."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password: the dev provider does not check it")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def test_an_administrator_signs_in_at_the_admin_page_through_the_brands_provider(
    browser: Browser, server: str, issuer: str, brand_id: int
) -> None:
    context = browser.new_context(locale="en-GB", bypass_csp=False)
    page = context.new_page()
    sign_in_by_keyboard(
        page, server, brand_id, "Or with your company's account", "Brand number (single sign-on)"
    )
    expect(page).to_have_url(re.compile(re.escape(issuer)))
    at_the_provider(page, "giulia")
    expect(page.get_by_text("Signed in as Giulia Rossi")).to_be_visible(timeout=20_000)
    expect(page.locator("#brand-title")).to_have_text("Ottica Rossi")
    # the token came in the fragment and is gone from the address bar (and never was in a query)
    assert "token" not in page.url and "#" not in page.url
    # the person is in: the page's own calls with that token work, e.g. the brand's operators
    expect(page.locator("#operator-rows")).to_contain_text("giulia@ottica.example")
    context.close()


def test_a_person_outside_the_brands_domain_is_refused_with_the_reason(
    browser: Browser, server: str, issuer: str, brand_id: int
) -> None:
    context = browser.new_context(locale="it-IT", bypass_csp=False)
    page = context.new_page()
    sign_in_by_keyboard(
        page, server, brand_id, "Oppure con l'account della tua azienda", "Numero del brand (single sign-on)"
    )
    at_the_provider(page, "eve")
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "Il tuo indirizzo email non è di un dominio ammesso da questo brand.", timeout=20_000
    )
    expect(page.locator("#admin")).to_be_hidden()
    assert "sso_error" not in page.url
    # the brand's local passwords are off: the password form says so
    page.locator("#sign-in-brand").fill(str(brand_id))
    page.get_by_role("textbox", name="Utente", exact=True).fill("eve")
    page.get_by_label("Password", exact=True).fill("a password of eight")
    page.get_by_role("button", name="Accedi", exact=True).click()
    expect(alert).to_contain_text("single sign-on only")
    context.close()


def test_an_administrator_sets_single_sign_on_in_the_page_and_then_uses_it(
    browser: Browser, server: str, data_dir: Path, issuer: str
) -> None:
    engine, sessions = open_database(Settings(data_dir=data_dir))
    with sessions() as s:
        brand, key = create_brand(s, "Moda Bianchi")
    engine.dispose()
    password = "la cassa chiude alle sette"
    anna = {"login": "anna", "name": "Anna", "languages": ["it"], "role": "admin", "password": password}
    r = httpx.post(f"{server}/api/operators", json=anna, headers={"X-API-Key": key}, timeout=10)
    assert r.status_code == 201, r.text
    context = browser.new_context(locale="en-GB", bypass_csp=False)
    page = context.new_page()
    page.goto(f"{server}/app/admin/index.html")
    page.locator("#sign-in-brand").fill(str(brand.id))
    page.get_by_role("textbox", name="Login", exact=True).fill("anna")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Signed in as Anna")).to_be_visible()
    expect(page.locator("#sso-callback")).to_have_text(f"{server}/api/sso/callback")
    page.get_by_label("Issuer URL (https)").fill(issuer)
    page.get_by_label("Client id").fill(CLIENT_ID)
    page.get_by_label("Client secret").fill(CLIENT_SECRET)
    page.get_by_label("Email domain admitted").fill("ottica.example")
    page.get_by_label("Local passwords off").check()
    page.get_by_role("region", name="Single sign-on").get_by_role("button", name="Save").press("Enter")
    expect(page.get_by_role("region", name="Single sign-on").get_by_role("status")).to_have_text(
        "Sign-in settings saved."
    )
    expect(page.get_by_label("Client secret")).to_have_value("")  # never shown back
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in as the brand's administrator")).to_be_visible()
    sign_in_by_keyboard(
        page, server, brand.id, "Or with your company's account", "Brand number (single sign-on)"
    )
    at_the_provider(page, "giulia")
    expect(page.get_by_text("Signed in as Giulia Rossi")).to_be_visible(timeout=20_000)
    expect(page.locator("#brand-title")).to_have_text("Moda Bianchi")
    context.close()


def test_an_operator_signs_in_at_the_operator_page_through_the_brands_provider(
    browser: Browser, server: str, issuer: str, brand_id: int
) -> None:
    context = browser.new_context(locale="en-GB", bypass_csp=False)
    page = context.new_page()
    page.goto(f"{server}/app/operator/index.html")
    form = page.get_by_role("form", name="Or with your company's account")
    form.get_by_label("Brand number (single sign-on)").fill(str(brand_id))
    form.get_by_role("button", name="Continue with single sign-on").press("Enter")
    at_the_provider(page, "marco")
    expect(page.get_by_role("heading", name="Hello, Marco Bianchi")).to_be_visible(timeout=20_000)
    assert "token" not in page.url
    context.close()
