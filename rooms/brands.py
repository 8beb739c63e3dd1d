"""Brands and their admins' API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from rooms.audit import record
from rooms.models import Brand

KEY_PREFIX = "acb_"


def _hash(key: str) -> str:
    # API keys are 256 random bits, so a fast hash is enough to make a stolen table useless (a slow
    # one like argon2 guards low-entropy passwords); lookups stay one indexed query per request.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def rotate_api_key(session: Session, brand: Brand, actor: str) -> str:
    """A new admin API key for the brand's servers; the old one stops working at once."""
    key = new_key()
    brand.api_key_hash = _hash(key)
    record(session, brand.id, actor, "brand.api_key_rotate", {})
    session.commit()
    return key


def create_brand(session: Session, name: str, actor: str = "server operator") -> tuple[Brand, str]:
    """A new brand and its admin API key; the key is returned once and only its hash is stored."""
    name = name.strip()
    if not name:
        raise ValueError("a brand needs a name")
    key = new_key()
    brand = Brand(name=name, api_key_hash=_hash(key))
    session.add(brand)
    session.flush()
    record(session, brand.id, actor, "brand.create", {"name": name})
    session.commit()
    return brand, key


def brand_for_api_key(session: Session, key: str) -> Brand | None:
    if not key.startswith(KEY_PREFIX):
        return None
    digest = _hash(key)
    brand = session.scalar(select(Brand).where(Brand.api_key_hash == digest))
    if brand is None or not hmac.compare_digest(brand.api_key_hash, digest):
        return None
    return brand
