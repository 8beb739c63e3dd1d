"""The ID token check on its own: signed here with keys made here, so each way a token can be wrong
is tried (the end-to-end tests use a real provider, which only issues right ones)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from avatar_care.auth.oidc import ASYMMETRIC, claims_of_id_token
from rooms.sign_in import SignInRefused

ISSUER = "https://login.ottica.example"
CLIENT = "avatar-care"
NONCE = "n-0S6_WzA2Mj"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
JWKS = {"keys": [KEY.as_dict(private=False)]}


def id_token(key: Any = KEY, alg: str = "RS256", **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": CLIENT,
        "exp": now + 300,
        "iat": now,
        "nonce": NONCE,
    }
    claims = {k: v for k, v in (claims | changes).items() if v is not None}
    return {"id_token": jwt.encode({"alg": alg, "kid": "k1"}, claims, key, algorithms=[alg])}


def check(tokens: dict[str, Any], nonce: str = NONCE) -> dict[str, Any]:
    return claims_of_id_token(tokens, JWKS, ISSUER, ("RS256",), CLIENT, nonce)


def test_a_right_id_token_gives_its_claims() -> None:
    claims = check(id_token(email="giulia@ottica.example"))
    assert claims["sub"] == "248289761001" and claims["email"] == "giulia@ottica.example"
    assert check(id_token(aud=[CLIENT, "another"], azp=CLIENT))["sub"] == "248289761001"


# The tokens are made when each test runs, not when the module is collected: a token made at
# collection would expire (exp is five minutes ahead) in a long run before its test is reached.
@pytest.mark.parametrize(
    ("make_tokens", "code"),
    [
        (lambda: id_token(nonce="someone else's"), "nonce"),
        (lambda: id_token(nonce=None), "nonce"),
        (lambda: id_token(iss="https://evil.example"), "invalid_token"),
        (lambda: id_token(aud="another-client"), "invalid_token"),
        (lambda: id_token(aud=[CLIENT, "another"]), "invalid_token"),  # two audiences and no azp
        (lambda: id_token(exp=int(time.time()) - 3600), "invalid_token"),
        (lambda: id_token(exp=None), "invalid_token"),
        (lambda: id_token(iat=None), "invalid_token"),
        (lambda: id_token(key=OTHER_KEY), "invalid_token"),  # signed by a key the provider does not publish
        # signed with the client secret (a symmetric key the server also holds)
        (
            lambda: id_token(key=OctKey.import_key("the client secret, which the server holds"), alg="HS256"),
            "invalid_token",
        ),
        (lambda: {"id_token": "e30.e30."}, "invalid_token"),  # alg none, no signature
        (lambda: {"id_token": "not a token"}, "invalid_token"),
        (lambda: {}, "invalid_token"),
    ],
    ids=[
        "other-nonce",
        "no-nonce",
        "other-issuer",
        "other-audience",
        "two-audiences-no-azp",
        "expired",
        "no-exp",
        "no-iat",
        "unknown-key",
        "client-secret-hs256",
        "alg-none",
        "not-a-token",
        "no-token",
    ],
)
def test_a_wrong_id_token_is_refused_with_a_reason(
    make_tokens: Callable[[], dict[str, Any]], code: str
) -> None:
    with pytest.raises(SignInRefused) as refused:
        check(make_tokens())
    assert refused.value.code == code


def test_only_asymmetric_signatures_are_accepted() -> None:
    # never "none", never HS*: a symmetric key would be the client secret the server also holds
    assert "none" not in ASYMMETRIC and not any(a.startswith("HS") for a in ASYMMETRIC)
    with pytest.raises(SignInRefused):  # even when told to accept HS256, the JWKS has no such key
        claims_of_id_token(
            id_token(key=OctKey.import_key("k" * 32), alg="HS256"), JWKS, ISSUER, ("HS256",), CLIENT, NONCE
        )
