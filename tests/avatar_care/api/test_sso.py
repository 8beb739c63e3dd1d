"""Single sign-on against a real OpenID provider (tests/oidc/provider.mjs): provisioning by the
brand's rule, refusals, a spent or expired state, PKCE binding, and local passwords off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

from avatar_care.api.routes.sso import COOKIE
from avatar_care.core.logging import redact
from rooms.clock import ManualClock
from tests.avatar_care.api.care_support import BrandSetup, bearer, new_brand
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, running_provider, sign_in_at_provider

CALLBACK = "http://testserver/api/sso/callback"
PASSWORD = "la cassa chiude alle sette"


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_provider([CALLBACK], tmp_path_factory.mktemp("oidc")) as url:
        yield url


def configure(client: TestClient, brand: BrandSetup, issuer: str, **changes: Any) -> dict[str, Any]:
    oidc = {
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "email_domain": "ottica.example",
        "group": "care-team",
    } | changes.pop("oidc", {})
    body = {"local_passwords": True, "oidc": oidc} | changes
    r = client.put("/api/brand/sign-in", json=body, headers=brand.admin)
    assert r.status_code == 200, r.text
    return dict(r.json())


def start(client: TestClient, brand_id: int, page: str = "admin") -> str:
    r = client.get(f"/api/sso/{brand_id}/start", params={"return_to": page}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def come_back(client: TestClient, callback_url: str) -> tuple[str, dict[str, str]]:
    """The callback's answer: the page the browser lands on and what its fragment says."""
    assert callback_url.startswith(CALLBACK), callback_url
    parts = urlsplit(callback_url)
    r = client.get(f"{parts.path}?{parts.query}", follow_redirects=False)
    assert r.status_code == 303, r.text
    page, _, fragment = str(r.headers["location"]).partition("#")
    assert "token" not in urlsplit(page).query
    return page, {k: v[0] for k, v in parse_qs(fragment).items()}


def sign_in(client: TestClient, brand_id: int, login: str, page: str = "admin") -> tuple[str, dict[str, str]]:
    return come_back(client, sign_in_at_provider(start(client, brand_id, page), login))


def audit(client: TestClient, brand: BrandSetup) -> list[dict[str, Any]]:
    return list(client.get("/api/brand/audit", headers=brand.admin).json())


def accounts(client: TestClient, brand: BrandSetup) -> dict[str, dict[str, Any]]:
    return {o["login"]: o for o in client.get("/api/operators", headers=brand.admin).json()}


def test_a_person_of_the_brand_signs_in_with_its_provider_and_is_provisioned(
    client: TestClient, issuer: str
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    configure(client, brand, issuer)
    url = start(client, brand.id)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(issuer + "/auth?")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["state"] and query["nonce"] and query["redirect_uri"] == [CALLBACK]
    assert "code_verifier" not in query  # the verifier stays on the server
    page, fragment = come_back(client, sign_in_at_provider(url, "giulia"))
    assert page == "/app/admin/index.html"
    giulia = bearer(fragment["token"])
    assert client.get("/api/brand", headers=giulia).json()["id"] == brand.id
    me = client.get("/api/operators/me", headers=giulia).json()
    assert (me["login"], me["name"], me["role"]) == ("giulia@ottica.example", "Giulia Rossi", "admin")
    log = audit(client, brand)
    assert ("single sign-on (giulia@ottica.example)", "operator.provision") in [
        (e["actor"], e["action"]) for e in log
    ]
    # the second time the same account (matched by brand and subject) signs in, nothing new is made
    _, again = sign_in(client, brand.id, "giulia")
    assert client.get("/api/operators/me", headers=bearer(again["token"])).json()["id"] == me["id"]
    assert len(accounts(client, brand)) == 1
    assert [e["action"] for e in audit(client, brand)].count("operator.sign_in_sso") == 2


def test_the_role_comes_from_the_claim_and_the_page_asked_for(client: TestClient, issuer: str) -> None:
    brand = new_brand(client, "Ottica Rossi")
    configure(client, brand, issuer)
    page, fragment = sign_in(client, brand.id, "marco", page="operator")
    assert page == "/app/operator/index.html"
    assert client.get("/api/operators/me", headers=bearer(fragment["token"])).json()["role"] == "operator"
    # an operator is not let into the admin page
    _, refused = sign_in(client, brand.id, "marco")
    assert refused == {"sso_error": "not_admin"}
    # a brand's own names for roles, through its map
    configure(client, brand, issuer, oidc={"role_claim": "groups", "role_map": {"care-team": "supervisor"}})
    _, fragment = sign_in(client, brand.id, "marco", page="operator")
    me = client.get("/api/operators/me", headers=bearer(fragment["token"])).json()
    assert me["role"] == "supervisor"
    assert "operator.role" in [e["action"] for e in audit(client, brand)]


def test_people_outside_the_brands_rule_are_refused_and_audited(client: TestClient, issuer: str) -> None:
    brand = new_brand(client, "Ottica Rossi")
    configure(client, brand, issuer, oidc={"group": None})
    assert sign_in(client, brand.id, "eve") == ("/app/admin/index.html", {"sso_error": "domain"})
    assert sign_in(client, brand.id, "unverified")[1] == {"sso_error": "email"}
    configure(client, brand, issuer, oidc={"email_domain": None, "group": "care-team"})
    assert sign_in(client, brand.id, "eve")[1] == {"sso_error": "group"}
    assert accounts(client, brand) == {}
    refusals = [e for e in audit(client, brand) if e["action"] == "sso.refused"]
    assert [e["detail"]["reason"] for e in refusals] == ["domain", "email", "group"]
    assert refusals[0]["detail"]["who"] == "eve@elsewhere.example"
    # a disabled account stays out although the provider vouches for it
    configure(client, brand, issuer)
    sign_in(client, brand.id, "giulia")
    giulia = accounts(client, brand)["giulia@ottica.example"]
    client.put(f"/api/operators/{giulia['id']}/disabled", json={"disabled": True}, headers=brand.admin)
    assert sign_in(client, brand.id, "giulia")[1] == {"sso_error": "disabled"}


def test_a_sign_in_comes_back_once_in_the_browser_that_started_it(
    client: TestClient, issuer: str, clock: ManualClock
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    configure(client, brand, issuer)
    callback = sign_in_at_provider(start(client, brand.id), "giulia")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    assert "token" in come_back(client, callback)[1]
    # replayed (even with the browser's cookie back): the state was spent
    client.cookies.set(COOKIE, state, domain="testserver.local", path="/api/sso")
    assert come_back(client, callback)[1] == {"sso_error": "expired"}
    # another browser (no cookie of this start) cannot finish it: login CSRF
    callback = sign_in_at_provider(start(client, brand.id), "giulia")
    client.cookies.clear()
    assert come_back(client, callback)[1] == {"sso_error": "browser"}
    # too late: ten minutes at the provider at most
    url = start(client, brand.id)
    callback = sign_in_at_provider(url, "giulia")
    clock.advance(11 * 60)
    assert come_back(client, callback)[1] == {"sso_error": "expired"}
    reasons = [
        e["detail"]["reason"]
        for e in client.get("/api/brand/audit", headers=brand.admin).json()
        if e["action"] == "sso.refused"
    ]
    assert reasons == []  # refusals before the brand is known are logged without a brand


def test_a_code_works_only_with_the_verifier_of_its_own_start(client: TestClient, issuer: str) -> None:
    brand = new_brand(client, "Ottica Rossi")
    configure(client, brand, issuer)
    first = parse_qs(urlsplit(start(client, brand.id)).query)["state"][0]
    callback = sign_in_at_provider(start(client, brand.id), "giulia")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    # the second start's code with the first start's state (and its verifier): PKCE refuses it
    client.cookies.set(COOKIE, first, domain="testserver.local", path="/api/sso")
    swapped = f"{CALLBACK}?{urlencode({'code': code, 'state': first})}"
    assert come_back(client, swapped)[1] == {"sso_error": "provider"}
    refused = [e["detail"] for e in audit(client, brand) if e["action"] == "sso.refused"]
    assert "invalid_grant" in refused[0]["message"]


def test_the_provider_saying_no_is_a_clear_refusal(client: TestClient, issuer: str) -> None:
    brand = new_brand(client, "Ottica Rossi")
    configure(client, brand, issuer)
    callback = sign_in_at_provider(start(client, brand.id), "giulia", consent=False)
    assert "error=access_denied" in callback
    assert come_back(client, callback)[1] == {"sso_error": "provider"}
    refused = [e["detail"] for e in audit(client, brand) if e["action"] == "sso.refused"]
    assert "access_denied" in refused[0]["message"]
    # a brand without single sign-on, and no brand at all
    other = new_brand(client, "Moda Bianchi")
    for brand_id in (other.id, 2**31 - 1):
        r = client.get(f"/api/sso/{brand_id}/start", follow_redirects=False)
        assert r.headers["location"] == "/app/admin/index.html#sso_error=not_configured"
    r = client.get("/api/sso/callback", params={"state": "x" * 5000}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("#sso_error=browser")


def test_local_passwords_off_refuses_password_sign_in_but_not_the_brands_key(
    client: TestClient, issuer: str
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    body = {"login": "anna", "name": "Anna", "languages": ["it"], "role": "admin", "password": PASSWORD}
    assert client.post("/api/operators", json=body, headers=brand.admin).status_code == 201
    login = {"brand_id": brand.id, "login": "anna", "password": PASSWORD}
    assert client.post("/api/operators/login", json=login).status_code == 200
    r = client.put("/api/brand/sign-in", json={"local_passwords": False, "oidc": None}, headers=brand.admin)
    assert r.status_code == 422 and "single sign-on" in r.json()["detail"]
    configure(client, brand, issuer, local_passwords=False)
    r = client.post("/api/operators/login", json=login)
    assert r.status_code == 403 and "single sign-on only" in r.json()["detail"]
    assert client.post("/api/operators/login", json=login | {"password": "wrong one!"}).status_code == 403
    assert client.get("/api/brand", headers=brand.admin).status_code == 200
    assert "token" in sign_in(client, brand.id, "giulia")[1]
    # another brand's passwords are untouched
    other = new_brand(client, "Moda Bianchi")
    client.post("/api/operators", json=body, headers=other.admin)
    assert client.post("/api/operators/login", json=login | {"brand_id": other.id}).status_code == 200
    configure(client, brand, issuer, local_passwords=True)
    assert client.post("/api/operators/login", json=login).status_code == 200


@pytest.mark.parametrize(
    ("oidc", "reason"),
    [
        ({"issuer": "http://login.example.com"}, "must be https"),
        ({"issuer": "ftp://login.example.com"}, "https URL"),
        ({"issuer": "https://login.example.com?x=1"}, "no query"),
        ({"email_domain": None, "group": None}, "provisioning rule"),
        ({"email_domain": "@ottica.example"}, "without @"),
        ({"role_map": {"boss": "emperor"}}, "role_map"),
        ({"client_secret": ""}, "client_secret"),
        ({"client_id": ""}, "client_id"),
        ({"issuer": 7}, "issuer"),
        ({"role_map": [1, 2]}, "role_map"),
    ],
)
def test_malformed_sign_in_settings_get_a_reason(
    client: TestClient, oidc: dict[str, Any], reason: str
) -> None:
    brand = new_brand(client, "Ottica Rossi")
    good = {
        "issuer": "https://login.example.com",
        "client_id": "c",
        "client_secret": "s3cret!",
        "email_domain": "ottica.example",
    }
    r = client.put(
        "/api/brand/sign-in", json={"local_passwords": True, "oidc": good | oidc}, headers=brand.admin
    )
    assert r.status_code == 422, r.text
    assert reason in r.text


def test_the_client_secret_is_kept_and_never_shown_again(client: TestClient, issuer: str) -> None:
    brand = new_brand(client, "Ottica Rossi")
    secret = "a very secret client secret 42"
    shown = configure(client, brand, issuer, oidc={"client_secret": secret})
    assert shown["oidc"]["client_secret_set"] is True and secret not in str(shown)
    # omitted: the stored one stays (so saving other settings needs no secret); loopback http is fine
    r = client.put(
        "/api/brand/sign-in",
        json={
            "local_passwords": True,
            "oidc": {"issuer": "http://localhost:1", "client_id": "x", "group": "g"},
        },
        headers=brand.admin,
    )
    assert r.status_code == 200 and r.json()["oidc"]["client_secret_set"] is True
    got = client.get("/api/brand/sign-in", headers=brand.admin)
    assert secret not in got.text and secret not in str(audit(client, brand))
    # a brand without one must give it
    other = new_brand(client, "Moda Bianchi")
    r = client.put(
        "/api/brand/sign-in",
        json={"local_passwords": True, "oidc": {"issuer": issuer, "client_id": "x", "group": "g"}},
        headers=other.admin,
    )
    assert r.status_code == 422 and "client_secret" in r.json()["detail"]
    assert client.get("/api/brand/sign-in", headers=bearer("aco_nobody")).status_code == 401


def test_an_unreachable_provider_is_a_refusal_not_a_failure(client: TestClient, tmp_path: Path) -> None:
    brand = new_brand(client, "Ottica Rossi")
    body = {"issuer": "http://127.0.0.1:9", "client_id": "c", "client_secret": "s", "group": "g"}
    client.put("/api/brand/sign-in", json={"local_passwords": True, "oidc": body}, headers=brand.admin)
    r = client.get(f"/api/sso/{brand.id}/start", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/app/admin/index.html#sso_error=unreachable"
    assert [e["detail"]["reason"] for e in audit(client, brand) if e["action"] == "sso.refused"] == [
        "unreachable"
    ]


def test_the_callbacks_code_and_state_never_reach_a_log_line() -> None:
    line = '127.0.0.1:5 - "GET /api/sso/callback?code=Zx9-code_1&state=St4te-xyz&iss=http%3A%2F%2Fp HTTP/1.1" 303'
    cleaned = redact(line)
    assert "Zx9-code_1" not in cleaned and "St4te-xyz" not in cleaned and "/api/sso/callback" in cleaned


def test_claims_only_at_the_userinfo_endpoint_are_read_there(client: TestClient, tmp_path: Path) -> None:
    """A provider that puts email and groups only behind its userinfo endpoint (the specification's
    default when an access token is issued) provisions and refuses the same way."""
    with running_provider([CALLBACK], tmp_path, claims_in_id_token=False) as strict:
        brand = new_brand(client, "Ottica Rossi")
        configure(client, brand, strict)
        _, fragment = sign_in(client, brand.id, "giulia")
        me = client.get("/api/operators/me", headers=bearer(fragment["token"])).json()
        assert (me["login"], me["role"]) == ("giulia@ottica.example", "admin")
        assert sign_in(client, brand.id, "eve")[1] == {"sso_error": "domain"}
