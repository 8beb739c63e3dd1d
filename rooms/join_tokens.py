"""One-time ids of customers' join tokens: each may be spent once (a copied link cannot be replayed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from rooms.db import commit_first_wins
from rooms.models import UsedJoinToken


def is_spent(db: Session, brand_id: int, jti: str) -> bool:
    return db.get(UsedJoinToken, (brand_id, jti)) is not None


def spend(db: Session, brand_id: int, jti: str, expires_at: datetime, now: datetime) -> bool:
    """Record the id as used; False if it already was. Ids of expired tokens are forgotten (they fail anyway)."""
    db.execute(delete(UsedJoinToken).where(UsedJoinToken.expires_at <= now))
    db.add(UsedJoinToken(brand_id=brand_id, jti=jti, expires_at=expires_at))
    return commit_first_wins(db)  # the primary key makes two racing uses safe: one wins
