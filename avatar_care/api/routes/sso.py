"""Single sign-on with the brand's OpenID provider: start (to the provider) and callback (back here).

The browser comes back signed in exactly as after a password sign-in (a 12-hour operator token),
carried in the URL's fragment, which no server or log sees. The pending login (state, PKCE
verifier, nonce, page to return to) lives in the database, single use and short-lived; the state
is also set in an HttpOnly cookie at the start and must come back with it, so a callback someone
else started (login CSRF) is refused. Every refusal sends the person back to the page with a reason
(``#sso_error=…``) the page explains in their language, and is audited: never a 500.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from datetime import timedelta
from typing import Annotated, Final
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from avatar_care.api.input_policy import RowId, text_problem
from avatar_care.auth import oidc
from avatar_care.core.config import Settings
from rooms.audit import record
from rooms.desk import CareDesk
from rooms.models import Brand
from rooms.operators import issue_token
from rooms.sign_in import (
    PENDING_LOGIN_TTL,
    RETURN_PAGES,
    SignInRefused,
    begin_login,
    identity_from_claims,
    oidc_configured,
    settings_of,
    sign_in_with_provider,
    take_login,
)

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/sso", tags=["single sign-on"])

PAGES: Final = {"admin": "/app/admin/index.html", "operator": "/app/operator/index.html"}
COOKIE: Final = "avatar_care_sso_state"
#: A sign-in token lasts as long as a password sign-in's.
TOKEN_TTL: Final = timedelta(hours=12)
MAX_PARAM: Final = 2048


def _back(page: str, fragment: str) -> RedirectResponse:
    response = RedirectResponse(f"{PAGES.get(page, PAGES['admin'])}#{fragment}", status_code=303)
    response.delete_cookie(COOKIE, path="/api/sso")
    # the answer carries a token in its Location: nobody keeps it
    response.headers["Cache-Control"] = "no-store"
    return response


def _refusal(page: str, code: str) -> RedirectResponse:
    return _back(page, f"sso_error={quote(code)}")


def _redirect_uri(request: Request) -> str:
    settings: Settings = request.app.state.settings
    if settings.public_url:
        return settings.public_url + router.url_path_for("sso_callback")
    return str(request.url_for("sso_callback"))


def _audit_refusal(desk: CareDesk, brand_id: int | None, refused: SignInRefused, who: str = "") -> None:
    logger.info("single sign-on refused for brand %s: %s (%s)", brand_id, refused.code, refused)
    with desk.sessions() as db:
        if brand_id is not None and db.get(Brand, brand_id) is None:
            brand_id = None
        detail: dict[str, object] = {"reason": refused.code, "message": str(refused)[:300]}
        if who:
            detail["who"] = who[:320]
        record(db, brand_id, "single sign-on", "sso.refused", detail)
        db.commit()


@router.get("/{brand_id}/start", response_class=RedirectResponse, status_code=303)
async def start(
    brand_id: RowId,
    request: Request,
    return_to: Annotated[str, Query(max_length=20)] = "admin",
) -> RedirectResponse:
    """Sends the browser to the brand's OpenID provider (code flow, PKCE S256, state, nonce)."""
    desk: CareDesk = request.app.state.desk
    page = return_to if return_to in RETURN_PAGES else "admin"

    def prepare() -> tuple[str, str, str, str, str] | None:
        with desk.sessions() as db:
            row = settings_of(db, brand_id)
            if db.get(Brand, brand_id) is None or not oidc_configured(row):
                return None
            assert row.oidc_issuer is not None and row.oidc_client_id is not None
            pending = begin_login(db, brand_id, page, desk.clock.now())
            return row.oidc_issuer, row.oidc_client_id, pending.state, pending.nonce, pending.code_verifier

    prepared = await asyncio.to_thread(prepare)
    if prepared is None:
        return _refusal(page, "not_configured")
    issuer, client_id, state, nonce, verifier = prepared
    try:
        async with httpx.AsyncClient() as http:
            provider = await oidc.discover(http, issuer)
    except SignInRefused as refused:
        await asyncio.to_thread(_audit_refusal, desk, brand_id, refused)
        return _refusal(page, refused.code)
    url = oidc.authorization_url(provider, client_id, _redirect_uri(request), state, nonce, verifier)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        COOKIE,
        state,
        max_age=int(PENDING_LOGIN_TTL.total_seconds()),
        path="/api/sso",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",  # sent on the provider's top-level redirect back, not on other sites' requests
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None or len(value) > MAX_PARAM or text_problem(value) is not None:
        return None
    return value


@router.get("/callback", name="sso_callback", response_class=RedirectResponse, status_code=303)
async def callback(request: Request) -> RedirectResponse:
    """Where the provider sends the browser back: the code is exchanged, the ID token validated,
    the person found or provisioned by the brand's rule, and signed in."""
    desk: CareDesk = request.app.state.desk
    state = _param(request, "state")
    if state is None or not hmac.compare_digest(request.cookies.get(COOKIE, "").encode(), state.encode()):
        # no state, or not the one this browser was sent with (a link someone else started)
        refused = SignInRefused("browser", "this sign-in was not started in this browser")
        await asyncio.to_thread(_audit_refusal, desk, None, refused)
        return _refusal("admin", refused.code)

    def take() -> tuple[int, str, str, str, str, str, str] | None:
        with desk.sessions() as db:
            pending = take_login(db, state, desk.clock.now())
            if pending is None:
                return None
            row = settings_of(db, pending.brand_id)
            if not oidc_configured(row):
                return (pending.brand_id, pending.return_to, "", "", "", "", "")
            assert row.oidc_issuer and row.oidc_client_id and row.oidc_client_secret
            return (
                pending.brand_id,
                pending.return_to,
                pending.code_verifier,
                pending.nonce,
                row.oidc_issuer,
                row.oidc_client_id,
                row.oidc_client_secret,
            )

    taken = await asyncio.to_thread(take)
    if taken is None:
        refused = SignInRefused("expired", "this sign-in was already used or has expired; start again")
        await asyncio.to_thread(_audit_refusal, desk, None, refused)
        return _refusal("admin", refused.code)
    brand_id, page, verifier, nonce, issuer, client_id, client_secret = taken
    who = ""
    try:
        if not issuer:
            raise SignInRefused("not_configured", "single sign-on is not configured for this brand")
        error = _param(request, "error")
        if error is not None:
            raise SignInRefused("provider", f"the provider answered {error[:60]!r}")
        code = _param(request, "code")
        if code is None:
            raise SignInRefused("provider", "the provider sent no code")
        async with httpx.AsyncClient() as http:
            provider = await oidc.discover(http, issuer)
            tokens = await oidc.exchange_code(
                http, provider, client_id, client_secret, _redirect_uri(request), code, verifier
            )
            id_claims = await oidc.verified_claims(http, provider, tokens, client_id, nonce)
            claims = await oidc.person_claims(http, provider, tokens, id_claims)

        def signed_in() -> str:
            with desk.sessions() as db:
                row = settings_of(db, brand_id)
                identity = identity_from_claims(claims, row.oidc_role_claim)
                nonlocal who
                who = identity.email or identity.subject
                account = sign_in_with_provider(db, row, identity)
                if page == "admin" and account.role != "admin":
                    raise SignInRefused("not_admin", "this account is not one of the brand's administrators")
                if account.role == "admin":  # perhaps an operator until this sign-in's claim
                    desk.remove_operator(account.id)
                else:
                    desk.operator_changed(account)
                record(
                    db,
                    brand_id,
                    f"{account.name} ({account.login})",
                    "operator.sign_in_sso",
                    {"operator": account.id},
                )
                return issue_token(db, account, desk.clock.now(), TOKEN_TTL)

        token = await asyncio.to_thread(signed_in)
    except SignInRefused as refused:
        await asyncio.to_thread(_audit_refusal, desk, brand_id, refused, who)
        return _refusal(page, refused.code)
    return _back(page, f"token={quote(token)}")
