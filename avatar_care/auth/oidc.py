"""The OpenID Connect client of a brand's single sign-on: authorization code flow with PKCE (S256),
state and nonce, and the ID token validated as OpenID Connect Core 3.1.3.7 asks.

Authlib builds the protocol's messages (the authorization URL with its PKCE challenge, the token
request) and checks the ID token's claims (``CodeIDToken``: nonce, ``azp``, ``at_hash``); joserfc,
Authlib's JOSE library, verifies its signature against the provider's published keys (JWKS), with
``iss``, ``aud`` and ``exp`` required. httpx carries the requests (Authlib's own httpx client
would ask for a second HTTP library). Discovery and keys are fetched at each sign-in: sign-ins are
rare, and a provider that rotates its keys is followed at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from rooms.sign_in import SignInRefused, issuer_problem

SCOPE: Final = "openid email profile"
#: Signatures with the provider's published public keys only: never ``none``, never HS* (a
#: symmetric key would be the client secret, which the server also holds).
ASYMMETRIC: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
#: Clock difference tolerated between the provider and this server, in seconds.
LEEWAY_S: Final = 60
TIMEOUT: Final = httpx.Timeout(10.0)
#: Answers larger than this from a provider are refused (discovery, keys, tokens are a few KB).
MAX_ANSWER_BYTES: Final = 256 * 1024


@dataclass(frozen=True)
class Provider:
    """What a provider's discovery document says, checked."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    #: where more claims about the person may be read with the access token (optional)
    userinfo_endpoint: str | None = None


def _refused(code: str, message: str) -> SignInRefused:
    return SignInRefused(code, message)


async def _get_json(http: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
    try:
        response = await http.get(url, timeout=TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise _refused(
            "unreachable", f"the provider's {what} could not be read: {type(exc).__name__}"
        ) from None
    return _json_of(response, what)


def _json_of(response: httpx.Response, what: str) -> dict[str, Any]:
    if len(response.content) > MAX_ANSWER_BYTES:
        raise _refused("provider", f"the provider's {what} is too large")
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise _refused(
            "provider", f"the provider's {what} is not a JSON object (HTTP {response.status_code})"
        )
    return data


def _endpoint(metadata: dict[str, Any], name: str) -> str:
    url = metadata.get(name)
    if not isinstance(url, str) or issuer_problem(url) is not None:
        raise _refused("provider", f"the provider's {name} is missing or not https")
    return url


async def discover(http: httpx.AsyncClient, issuer: str) -> Provider:
    """The provider's configuration (OpenID Connect Discovery 1.0), which must name ``issuer``."""
    metadata = await _get_json(http, issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery")
    named = metadata.get("issuer")
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        raise _refused("provider", "the provider's discovery names another issuer")
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(a for a in offered if a in ASYMMETRIC) if isinstance(offered, list) else ()
    if not algorithms:
        raise _refused("provider", "the provider signs ID tokens with no algorithm accepted here")
    return Provider(
        issuer=named,
        authorization_endpoint=_endpoint(metadata, "authorization_endpoint"),
        token_endpoint=_endpoint(metadata, "token_endpoint"),
        jwks_uri=_endpoint(metadata, "jwks_uri"),
        algorithms=algorithms,
        userinfo_endpoint=_endpoint(metadata, "userinfo_endpoint")
        if metadata.get("userinfo_endpoint")
        else None,
    )


def authorization_url(
    provider: Provider, client_id: str, redirect_uri: str, state: str, nonce: str, code_verifier: str
) -> str:
    """Where the browser goes to sign in: the code flow, with the PKCE challenge (S256) of
    ``code_verifier``, the ``state`` that brings the pending login back and the ``nonce`` the ID
    token must carry."""
    url: str = prepare_grant_uri(
        provider.authorization_endpoint,
        client_id=client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope=SCOPE,
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(code_verifier),
        code_challenge_method="S256",
    )
    return url


async def exchange_code(
    http: httpx.AsyncClient,
    provider: Provider,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    code_verifier: str,
) -> dict[str, Any]:
    """The token endpoint's answer for ``code`` (client_secret_basic, with the PKCE verifier)."""
    body: str = prepare_token_request(
        "authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
    )
    try:
        response = await http.post(
            provider.token_endpoint,
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            auth=httpx.BasicAuth(client_id, client_secret),
            timeout=TIMEOUT,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        raise _refused(
            "unreachable", f"the provider's token endpoint could not be reached: {type(exc).__name__}"
        ) from None
    tokens = _json_of(response, "token answer")
    if response.status_code != 200 or "error" in tokens:
        error = tokens.get("error")
        raise _refused(
            "provider", f"the provider refused the code: {str(error)[:60] if error else response.status_code}"
        )
    if not isinstance(tokens.get("id_token"), str):
        raise _refused("provider", "the provider's answer has no ID token")
    return tokens


async def verified_claims(
    http: httpx.AsyncClient,
    provider: Provider,
    tokens: dict[str, Any],
    client_id: str,
    nonce: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The ID token's claims once its signature (the provider's JWKS), ``iss``, ``aud``, ``exp``,
    ``iat`` and ``nonce`` (and ``azp``, ``at_hash`` when present) are right."""
    jwks = await _get_json(http, provider.jwks_uri, "keys")
    return claims_of_id_token(tokens, jwks, provider.issuer, provider.algorithms, client_id, nonce, now)


def claims_of_id_token(
    tokens: dict[str, Any],
    jwks: dict[str, Any],
    issuer: str,
    algorithms: tuple[str, ...],
    client_id: str,
    nonce: str,
    now: float | None = None,
) -> dict[str, Any]:
    """:func:`verified_claims` once the keys are at hand."""
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        token = jwt.decode(tokens["id_token"], keys, registry=JWSRegistry(algorithms=list(algorithms)))
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise _refused(
            "invalid_token", f"the ID token's signature does not verify: {type(exc).__name__}"
        ) from None
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "sub": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    }
    params = {"nonce": nonce, "client_id": client_id}
    if isinstance(tokens.get("access_token"), str):
        params["access_token"] = tokens["access_token"]
    claims = CodeIDToken(token.claims, token.header, options, params)
    try:
        claims.validate(now=int(now if now is not None else time.time()), leeway=LEEWAY_S)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        which = getattr(exc, "claim", None) or getattr(exc, "error", None) or type(exc).__name__
        code = "nonce" if which == "nonce" else "invalid_token"
        raise _refused(code, f"the ID token is not valid: {which}") from None
    return dict(claims)


async def person_claims(
    http: httpx.AsyncClient, provider: Provider, tokens: dict[str, Any], id_claims: dict[str, Any]
) -> dict[str, Any]:
    """The validated ID token's claims, completed by the provider's userinfo endpoint when it has one
    (OpenID Connect Core 5.3): providers that follow the specification closely put email, groups and
    the like only there when an access token is issued. The userinfo answer must name the same
    subject (5.3.2); where both hold a claim, the signed ID token's value stands."""
    access_token = tokens.get("access_token")
    if provider.userinfo_endpoint is None or not isinstance(access_token, str):
        return id_claims
    try:
        response = await http.get(
            provider.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            timeout=TIMEOUT,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        raise _refused(
            "unreachable", f"the provider's userinfo could not be read: {type(exc).__name__}"
        ) from None
    if response.status_code != 200:
        raise _refused("provider", f"the provider's userinfo answered HTTP {response.status_code}")
    info = _json_of(response, "userinfo")
    if info.get("sub") != id_claims.get("sub"):
        raise _refused("invalid_token", "the provider's userinfo names another subject than the ID token")
    return info | id_claims
