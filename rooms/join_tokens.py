"""One-time ids of customers' join tokens: each may be spent once (a copied link cannot be replayed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from rooms.db import commit_first_wins
from rooms.errors import Conflict
from rooms.models import UsedJoinToken


def is_spent(db: Session, brand_id: int, jti: str) -> bool:
    return db.get(UsedJoinToken, (brand_id, jti)) is not None


@dataclass(frozen=True)
class OneTimeId:
    """A join token's one-time id, to be spent in the same transaction as what it admits."""

    brand_id: int
    jti: str
    expires_at: datetime


class LinkSpent(Conflict):
    """The join link's one-time id was spent already (a copied or replayed link)."""

    def __init__(self) -> None:
        super().__init__("this join link was already used; ask the site for a new one")


def spend_with(db: Session, one_time: OneTimeId, now: datetime) -> None:
    """Add the spending of ``one_time`` to the session's transaction; its commit decides, and a
    second spend of the same id fails that commit on the primary key (the caller rolls back)."""
    db.execute(delete(UsedJoinToken).where(UsedJoinToken.expires_at <= now))
    db.add(UsedJoinToken(brand_id=one_time.brand_id, jti=one_time.jti, expires_at=one_time.expires_at))


def spend(db: Session, brand_id: int, jti: str, expires_at: datetime, now: datetime) -> bool:
    """Record the id as used; False if it already was. Ids of expired tokens are forgotten (they fail anyway)."""
    db.execute(delete(UsedJoinToken).where(UsedJoinToken.expires_at <= now))
    db.add(UsedJoinToken(brand_id=brand_id, jti=jti, expires_at=expires_at))
    return commit_first_wins(db)  # the primary key makes two racing uses safe: one wins
