"""The customer's side: join (signed link or anonymous), wait, chat, leave a message, rate.

After the join, the customer holds an opaque session access token (``Authorization: Bearer``);
the page keeps it so a reconnect, even after a server restart, finds the same place in the queue.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from avatar_care import webhooks
from avatar_care.api.deps import (
    CurrentCustomer,
    DeskDep,
    SessionDep,
    SettingsDep,
    bearer,
    customer_from_token,
)
from avatar_care.api.input_policy import Instant
from avatar_care.api.views import customer_view
from avatar_care.core.security import JoinClaims, JoinTokenError, unverified_brand, verify_join_token
from rooms.catalogue import CheckoutFailed, checkout
from rooms.desk import CareDesk, Customer
from rooms.errors import Conflict, Forbidden, NotFound
from rooms.join_tokens import LinkSpent, OneTimeId, is_spent, spend
from rooms.models import BrandSecrets, RoomTemplate

router = APIRouter(prefix="/api/customer", tags=["customer"])
#: How long the brand's checkout may take to answer.
CHECKOUT_TIMEOUT_S = 10.0


class JoinIn(BaseModel):
    token: str | None = Field(default=None, description="the join token the brand's site signed (JWT, HS256)")
    template_id: str | None = Field(
        default=None, description="for an anonymous join, where the room allows it"
    )
    language: str | None = None
    name: str = Field(default="", max_length=200)
    topic: str = Field(default="", max_length=500)


class JoinOut(BaseModel):
    session_id: str
    access_token: str
    state: str


class ContactIn(JoinIn):
    kind: str = Field(pattern="^(message|callback)$")
    contact: str = Field(min_length=1, max_length=200)
    text: str = Field(default="", max_length=4000)
    callback_at: Instant | None = None


class ChatIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class ProblemIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class SurveyIn(BaseModel):
    csat: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=4000)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message)


def admit(db: Session, desk: CareDesk, body: JoinIn) -> tuple[RoomTemplate, Customer, JoinClaims | None]:
    """Which room and who: from a verified join token, or anonymously where the room allows it."""
    if body.token:
        try:
            brand_id = unverified_brand(body.token)
        except JoinTokenError as exc:
            raise _unauthorized(str(exc)) from None
        # The signature is checked before anything the token says is used: a brand with no join
        # secret yet (or none at all) cannot have signed it, and gets the same answer.
        brand_secrets = db.get(BrandSecrets, brand_id)
        if brand_secrets is None:
            raise _unauthorized("the join token's signature is wrong")
        try:
            claims = verify_join_token(body.token, brand_secrets.join_secret, desk.clock.now())
        except JoinTokenError as exc:
            raise _unauthorized(str(exc)) from None
        if is_spent(db, brand_id, claims.jti):
            raise _unauthorized("this join link was already used; ask the site for a new one")
        template = db.get(RoomTemplate, claims.template_id)
        if template is None or template.brand_id != brand_id:
            raise NotFound(f"no room template {claims.template_id}")
        customer = Customer(
            ref=claims.subject,
            language=claims.language or body.language or template.languages[0],
            name=claims.name or body.name,
            topic=claims.topic or body.topic,
            context=claims.context,
            priority=claims.priority,
        )
        return template, customer, claims
    if not body.template_id:
        raise _unauthorized(
            "a join needs the token from the brand's site (or a room open to anonymous visitors)"
        )
    template = db.get(RoomTemplate, body.template_id)
    if template is None:
        raise NotFound(f"no room template {body.template_id}")
    if not template.allow_anonymous:
        raise Forbidden("this room needs a sign-in link from the brand's site")
    language = body.language or template.languages[0]
    return template, Customer(ref="anonymous", language=language, name=body.name, topic=body.topic), None


def _spend(db: Session, desk: CareDesk, claims: JoinClaims | None) -> None:
    if claims is not None and not spend(db, claims.brand_id, claims.jti, claims.expires_at, desk.clock.now()):
        raise _unauthorized("this join link was already used; ask the site for a new one")


@router.post("/join", status_code=status.HTTP_201_CREATED, response_model=JoinOut)
def join(body: JoinIn, db: SessionDep, desk: DeskDep) -> JoinOut:
    template, customer, claims = admit(db, desk, body)
    # A closed room or a wrong language refuses before the one-time id is spent: the same link
    # can still leave a message or come back.
    one_time = None if claims is None else OneTimeId(claims.brand_id, claims.jti, claims.expires_at)
    try:
        cs, token = desk.join(template, customer, one_time)
    except LinkSpent as exc:
        raise _unauthorized(str(exc)) from None
    return JoinOut(session_id=cs.id, access_token=token, state=desk.status(cs.id).state)


@router.post("/contact", status_code=status.HTTP_201_CREATED)
def contact_without_session(body: ContactIn, db: SessionDep, desk: DeskDep) -> dict[str, Any]:
    """A message or a callback request when the room is closed (the same join link admits it)."""
    template, _customer, claims = admit(db, desk, body)
    # the brand's id for the customer, so that their data-rights requests find it (none if anonymous)
    ref = claims.subject if claims is not None else None
    request = desk.contact_request(template, body.kind, body.contact, body.text, body.callback_at, None, ref)
    _spend(db, desk, claims)
    return {"id": request.id, "kind": request.kind}


@router.get("/session")
def my_session(cs: CurrentCustomer, desk: DeskDep, db: SessionDep) -> dict[str, Any]:
    return customer_view(desk, db, cs.id)


@router.post("/chat", status_code=201)
async def chat(body: ChatIn, desk: DeskDep, token: Annotated[str, Depends(bearer)]) -> dict[str, str]:
    """The token's check and the message in one trip to a worker thread (chat is the busiest write)."""

    def send() -> str:
        cs = customer_from_token(desk, token)
        return desk.chat(cs.id, "customer", body.text).text

    return {"text": await run_in_threadpool(send)}


@router.post("/leave")
def leave(cs: CurrentCustomer, desk: DeskDep) -> dict[str, str]:
    """Leave the queue, or end the consultation."""
    ended = desk.end(cs.id, None)
    return {"state": ended.state}


@router.post("/contact-request", status_code=201)
def contact_from_queue(body: ContactIn, cs: CurrentCustomer, desk: DeskDep, db: SessionDep) -> dict[str, Any]:
    if cs.ended_at is not None:
        raise Conflict(f"this consultation is {cs.state}; a message is left from the queue")
    template = db.get(RoomTemplate, cs.template_id)
    assert template is not None
    ref = cs.customer_ref if cs.customer_ref != "anonymous" else None
    request = desk.contact_request(template, body.kind, body.contact, body.text, body.callback_at, cs.id, ref)
    return {"id": request.id, "kind": request.kind}


@router.post("/problem", status_code=201)
def problem(body: ProblemIn, cs: CurrentCustomer, desk: DeskDep) -> dict[str, int]:
    return {"id": desk.report_problem(cs.id, body.text).id}


@router.post("/survey", status_code=201)
def survey(body: SurveyIn, cs: CurrentCustomer, desk: DeskDep) -> dict[str, int]:
    answer = desk.survey(cs.id, body.csat, body.comment)
    return {"csat": answer.csat}


@router.post("/checkout")
def to_checkout(cs: CurrentCustomer, db: SessionDep, desk: DeskDep, settings: SettingsDep) -> dict[str, int]:
    fresh = db.merge(cs)
    if fresh.state != "connected":
        raise Conflict("the cart goes to checkout during the consultation")
    policy = webhooks.WebhookPolicy.from_settings(settings.webhook_allowed_networks, settings.webhook_ca_file)
    try:
        code = checkout(
            db,
            fresh,
            lambda url, body, headers: (
                webhooks.post(url, body, headers, policy, CHECKOUT_TIMEOUT_S).status_code
            ),
        )
    except CheckoutFailed as exc:
        desk.record_event(cs.id, "checkout_failed", {"reason": exc.reason})
        raise
    desk.record_event(cs.id, "checkout", {"status": code})
    return {"status": code}
