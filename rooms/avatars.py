"""A brand's avatars: the records of accepted files (the files live in the data directory)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rooms.audit import record
from rooms.models import Avatar, Brand, RoomTemplate


def add_avatar(session: Session, brand: Brand, avatar: Avatar, actor: str) -> Avatar:
    avatar.brand_id = brand.id
    session.add(avatar)
    record(
        session,
        brand.id,
        actor,
        "avatar.upload",
        {"avatar": avatar.id, "name": avatar.name, "format": avatar.format, "bytes": avatar.size_bytes},
    )
    session.commit()
    return avatar


def brand_avatars(session: Session, brand: Brand) -> list[Avatar]:
    return list(
        session.scalars(select(Avatar).where(Avatar.brand_id == brand.id).order_by(Avatar.created_at))
    )


def template_avatar_url(session: Session, template_id: str) -> str | None:
    """Where the pages load the avatar of a room template (None: the pages' default avatar)."""
    template = session.get(RoomTemplate, template_id)
    if template is None or template.avatar_id is None:
        return None
    avatar = session.get(Avatar, template.avatar_id)
    if avatar is None or avatar.brand_id != template.brand_id:
        return None
    return f"/media/avatars/{avatar.file_name}"


def brand_avatar(session: Session, brand: Brand, avatar_id: str) -> Avatar | None:
    """The brand's avatar with this id; another brand's is not found, as if it did not exist."""
    return session.scalar(select(Avatar).where(Avatar.id == avatar_id, Avatar.brand_id == brand.id))
