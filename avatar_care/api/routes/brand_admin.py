"""The brand admin's own brand: its shared secrets, checkout URL, whether customers are told of a
supervisor listening in, and its audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, HttpUrl

from avatar_care.api.deps import AdminActor, CurrentBrandAdmin, SessionDep
from avatar_care.webhooks import url_problem
from rooms.audit import entries, record
from rooms.brands import rotate_api_key
from rooms.catalogue import rotate_secret, secrets_of
from rooms.errors import Invalid
from rooms.supervision import listening_announced, set_listening_announced

router = APIRouter(prefix="/api/brand", tags=["brand"])


class BrandOut(BaseModel):
    id: int
    name: str
    join_secret: str = Field(description="HS256 secret the brand's site signs customers' join tokens with")
    webhook_secret: str = Field(description="HMAC-SHA256 secret of the checkout webhook's signature")
    checkout_url: str | None
    listening_announced: bool = Field(
        description="whether customers are told that a supervisor listens in (always of one who barges in)"
    )


class ListeningIn(BaseModel):
    listening_announced: bool


class CheckoutIn(BaseModel):
    checkout_url: HttpUrl | None


class AuditOut(BaseModel):
    actor: str
    action: str
    detail: dict[str, Any]
    at: datetime


@router.get("", response_model=BrandOut)
def get_brand(brand: CurrentBrandAdmin, db: SessionDep) -> BrandOut:
    s = secrets_of(db, brand.id)
    return BrandOut(
        id=brand.id,
        name=brand.name,
        join_secret=s.join_secret,
        webhook_secret=s.webhook_secret,
        checkout_url=s.checkout_url,
        listening_announced=listening_announced(db, brand.id),
    )


@router.put("/checkout", response_model=BrandOut)
def set_checkout(body: CheckoutIn, brand: CurrentBrandAdmin, db: SessionDep, actor: AdminActor) -> BrandOut:
    url = str(body.checkout_url) if body.checkout_url else None
    problem = url_problem(url) if url else None
    if problem is not None:
        raise Invalid(f"checkout_url: {problem}")
    s = secrets_of(db, brand.id)
    s.checkout_url = url
    record(db, brand.id, actor, "brand.checkout_url", {"url": s.checkout_url})
    db.commit()
    return get_brand(brand, db)


@router.put("/listening", response_model=BrandOut)
def set_listening(body: ListeningIn, brand: CurrentBrandAdmin, db: SessionDep, actor: AdminActor) -> BrandOut:
    """Whether customers are told that a supervisor listens in (from the next time one does)."""
    set_listening_announced(db, brand.id, body.listening_announced, actor)
    db.commit()
    return get_brand(brand, db)


class KeyOut(BaseModel):
    api_key: str = Field(description="the brand's new admin API key, shown once; the old one no longer works")


@router.post("/api-key", response_model=KeyOut)
def rotate_key(brand: CurrentBrandAdmin, db: SessionDep, actor: AdminActor) -> KeyOut:
    return KeyOut(api_key=rotate_api_key(db, brand, actor))


@router.post("/join-secret", response_model=BrandOut)
def rotate_join_secret(brand: CurrentBrandAdmin, db: SessionDep, actor: AdminActor) -> BrandOut:
    """A new join secret: links signed with the old one are refused from now on."""
    rotate_secret(db, brand.id, "join_secret", actor)
    return get_brand(brand, db)


@router.post("/webhook-secret", response_model=BrandOut)
def rotate_webhook_secret(brand: CurrentBrandAdmin, db: SessionDep, actor: AdminActor) -> BrandOut:
    """A new webhook secret: checkouts are signed with it from now on."""
    rotate_secret(db, brand.id, "webhook_secret", actor)
    return get_brand(brand, db)


@router.get("/audit", response_model=list[AuditOut])
def audit(brand: CurrentBrandAdmin, db: SessionDep) -> list[AuditOut]:
    return [AuditOut(actor=e.actor, action=e.action, detail=e.detail, at=e.at) for e in entries(db, brand.id)]
