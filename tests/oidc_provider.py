"""A real OpenID provider for the single sign-on tests (tests/oidc/provider.mjs: panva's
oidc-provider under Node), and a person signing in at its development pages."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from tests.support import drain, stop

HERE = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "avatar-care"
CLIENT_SECRET = "the test provider's client secret, long enough"
#: The people the test provider knows (the dev sign-in page takes any password).
ACCOUNTS: dict[str, dict[str, Any]] = {
    "giulia": {
        "email": "giulia@ottica.example",
        "email_verified": True,
        "name": "Giulia Rossi",
        "groups": ["care-team"],
        "avatar_care_role": "admin",
    },
    "marco": {
        "email": "marco@ottica.example",
        "email_verified": True,
        "name": "Marco Bianchi",
        "groups": ["care-team"],
        "avatar_care_role": "operator",
    },
    "eve": {
        "email": "eve@elsewhere.example",
        "email_verified": True,
        "name": "Eve",
        "groups": ["visitors"],
        "avatar_care_role": "admin",
    },
    "unverified": {"email": "nino@ottica.example", "email_verified": False, "name": "Nino"},
}


@contextmanager
def running_provider(
    redirect_uris: list[str], tmp_path: Path, claims_in_id_token: bool = True
) -> Iterator[str]:
    """The provider on a free loopback port, with one client; yields its issuer URL. The people's
    claims go into the ID token, or (``claims_in_id_token=False``) only to the userinfo endpoint."""
    assert (HERE / "node_modules" / "oidc-provider").is_dir(), (
        "the test provider's npm packages are missing: run scripts/setup.sh --dev (npm ci in tests/oidc)"
    )
    config = tmp_path / "oidc-provider.json"
    config.write_text(
        json.dumps(
            {
                "client": {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": redirect_uris,
                },
                "accounts": ACCOUNTS,
                "claims_in_id_token": claims_in_id_token,
            }
        )
    )
    proc = subprocess.Popen(
        ["node", str(HERE / "provider.mjs"), str(config)],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        issuer = ""
        for line in proc.stdout:
            if line.startswith("listening "):
                issuer = line.split()[1]
                break
        assert issuer, "the test OpenID provider did not start"
        drain(proc.stdout)
        yield issuer
    finally:
        stop(proc)


_FORM = re.compile(r'<form[^>]*action="([^"]+)"', re.IGNORECASE)


def sign_in_at_provider(authorization_url: str, login: str, consent: bool = True) -> str:
    """What a person does at the provider's development pages (sign in, then allow), by HTTP;
    returns the URL the provider finally sends the browser to (the relying party's callback)."""
    provider = urlsplit(authorization_url).netloc
    with httpx.Client(follow_redirects=False, timeout=20) as http:
        url = authorization_url
        response = http.get(url)
        for _ in range(20):
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                if urlsplit(url).netloc != provider:
                    return url
                response = http.get(url)
                continue
            match = _FORM.search(response.text)
            assert match, f"the provider showed no form: {response.status_code} {response.text[:300]}"
            action = urljoin(url, unescape(match.group(1)))
            if 'name="login"' in response.text:
                form = {"prompt": "login", "login": login, "password": "any"}
            else:
                form = {"prompt": "consent"}
                if not consent:
                    action = action.rstrip("/") + "/abort"
                    response = http.get(action)
                    continue
            response = http.post(action, data=form)
        raise AssertionError("the provider never sent the browser back")
