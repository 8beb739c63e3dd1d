"""The audit log: who did what to a brand's setup, and when."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rooms.models import AuditEntry


def record(
    session: Session, brand_id: int | None, actor: str, action: str, detail: dict[str, object]
) -> None:
    """Add an entry to the caller's transaction (it is committed with the change it describes)."""
    session.add(AuditEntry(brand_id=brand_id, actor=actor, action=action, detail=detail))


def entries(session: Session, brand_id: int) -> list[AuditEntry]:
    return list(
        session.scalars(select(AuditEntry).where(AuditEntry.brand_id == brand_id).order_by(AuditEntry.id))
    )
