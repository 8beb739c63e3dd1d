"""Passwords (argon2) and customers' join tokens (JWT, HS256 with the brand's own secret).

A join token is signed by the brand's site and names the brand (``brand``), the room template
(``room``), the customer as the brand knows them (``sub``), a one-time id (``jti``) and an expiry
(``exp``, at most ``MAX_JOIN_TOKEN_LIFETIME`` ahead). Optional: ``name``, ``lang``, ``topic``,
``context`` (an object, e.g. the product page), ``priority`` (0-9). The ``jti`` is spent when the
token is used, so a copied link cannot be replayed; expiry is checked against the server's clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rooms.models import CareSession, UsedJoinToken
from rooms.storable import problem

MAX_JOIN_TOKEN_LIFETIME = timedelta(hours=24)
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class JoinTokenError(ValueError):
    """A join token that is not valid; the message says what is wrong with it (never a secret)."""


@dataclass(frozen=True)
class JoinClaims:
    brand_id: int
    template_id: str
    subject: str
    jti: str
    expires_at: datetime
    name: str = ""
    language: str | None = None
    topic: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    priority: int = 0


#: Brand ids are positive integers an SQL ``INTEGER`` holds (32 bits on PostgreSQL); a claim
#: outside is refused before any lookup.
_MAX_ID = 2**31 - 1


def unverified_brand(token: str) -> int:
    """The brand a token claims to come from, to pick the secret it must be verified with.

    Nothing else of an unverified token is read: the caller verifies the signature with that
    brand's secret before any other claim is looked at (an unknown brand fails the same way)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise JoinTokenError("the join token is not a JWT") from None
    brand = claims.get("brand")
    if not isinstance(brand, int) or isinstance(brand, bool) or not 1 <= brand <= _MAX_ID:
        raise JoinTokenError("the join token names no brand")
    return brand


def _expiry(value: object) -> datetime:
    """The ``exp`` claim as an instant; refused when it is not a finite number inside the calendar."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise JoinTokenError("the join token's exp is not a number of seconds")
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (OverflowError, OSError, ValueError):
        raise JoinTokenError("the join token's exp is not a time the calendar holds") from None


def verify_join_token(token: str, secret: str, now: datetime) -> JoinClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["exp", "jti", "sub", "room", "brand"], "verify_exp": False},
        )
    except jwt.InvalidSignatureError:
        raise JoinTokenError("the join token's signature is wrong") from None
    except jwt.PyJWTError as exc:
        raise JoinTokenError(f"the join token is not valid: {exc}") from None
    expires_at = _expiry(claims["exp"])
    if expires_at <= now:
        raise JoinTokenError("the join token has expired")
    if expires_at - now > MAX_JOIN_TOKEN_LIFETIME:
        raise JoinTokenError("the join token lives too long (24 hours at most)")
    context = claims.get("context", {})
    priority = claims.get("priority", 0)
    if not isinstance(context, dict) or not isinstance(priority, int) or not 0 <= priority <= 9:
        raise JoinTokenError("context must be an object and priority a whole number from 0 to 9")
    try:  # stored as JSON on both databases: finite numbers and valid Unicode only
        json.dumps(context, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        raise JoinTokenError("the join token's context holds a value that cannot be stored") from None
    _check_storable(claims)
    return JoinClaims(
        brand_id=int(claims["brand"]),
        template_id=str(claims["room"]),
        subject=str(claims["sub"]),
        jti=str(claims["jti"]),
        expires_at=expires_at,
        name=str(claims.get("name", "")),
        language=str(claims["lang"]) if "lang" in claims else None,
        topic=str(claims.get("topic", "")),
        context=context,
        priority=priority,
    )


#: where each claim is stored; a claim the database cannot hold is refused with the token, before a
#: session is made, rather than half-way through the join
_CLAIM_COLUMNS = {
    "sub": CareSession.__table__.c.customer_ref,
    "jti": UsedJoinToken.__table__.c.jti,
    "name": CareSession.__table__.c.customer_name,
    "lang": CareSession.__table__.c.language,
    "topic": CareSession.__table__.c.topic,
}


def _check_storable(claims: dict[str, Any]) -> None:
    for claim, column in _CLAIM_COLUMNS.items():
        if claim in claims:
            reason = problem(column.type, str(claims[claim]))
            if reason is not None:
                raise JoinTokenError(f"the join token's {claim!r} claim {reason}")


def make_join_token(secret: str, claims: dict[str, Any]) -> str:
    """What a brand's site does (used by the tests and the docs' example)."""
    return jwt.encode(claims, secret, algorithm="HS256")
