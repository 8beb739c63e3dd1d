"""A brand's avatars: upload (checked before it is accepted), list, and look up."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, UploadFile, status
from PIL import Image
from pydantic import BaseModel

from avatar_care.api.deps import CurrentBrandAdmin, SessionDep, SettingsDep
from avatar_care.avatars.check import Limits, check_avatar, face_warnings, missing_face_expressions
from avatar_care.avatars.staging import staged_files
from avatar_care.avatars.thumbnail import make_thumbnail
from rooms.avatars import add_avatar, brand_avatar, brand_avatars
from rooms.models import Avatar

router = APIRouter(prefix="/api/avatars", tags=["avatars"])
LIMITS = Limits()


class AvatarOut(BaseModel):
    id: str
    name: str
    format: str
    size_bytes: int
    bones: list[str]
    expressions: list[str]
    #: What the avatar will not do (it was accepted all the same): a face without morphs stays still.
    warnings: list[str]
    #: The face expressions behind ``warnings`` (of "aa", "blink"), for pages that word it themselves.
    missing_face_expressions: list[str]
    url: str
    thumbnail_url: str
    created_at: datetime


def _out(avatar: Avatar) -> AvatarOut:
    return AvatarOut(
        id=avatar.id,
        name=avatar.name,
        format=avatar.format,
        size_bytes=avatar.size_bytes,
        bones=avatar.bones,
        expressions=avatar.expressions,
        warnings=face_warnings(avatar.expressions),
        missing_face_expressions=missing_face_expressions(avatar.expressions),
        url=f"/media/avatars/{avatar.file_name}",
        thumbnail_url=f"/media/avatars/{avatar.thumbnail_name}",
        created_at=avatar.created_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AvatarOut,
    responses={413: {"description": "file too large"}, 422: {"description": "avatar refused, with reasons"}},
)
async def upload_avatar(
    brand: CurrentBrandAdmin,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="a VRM 0.x/1.0 or GLB humanoid")],
    name: Annotated[str, Form(min_length=1, max_length=200)],
) -> AvatarOut:
    data = await file.read(LIMITS.max_bytes + 1)
    if len(data) > LIMITS.max_bytes:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"avatars may be at most {LIMITS.max_bytes:,} bytes"
        )
    report = check_avatar(data, LIMITS)
    if not report.accepted:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, {"message": "avatar refused", "problems": report.problems}
        )
    try:
        thumbnail = make_thumbnail(data)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # PIL's "not a picture"
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            {"message": "avatar refused", "problems": [f"its thumbnail is not a picture: {exc}"]},
        ) from None
    avatar_id = secrets.token_hex(8)
    suffix = "glb" if report.format == "glb" else "vrm"
    avatar = Avatar(
        id=avatar_id,
        name=name,
        format=report.format,
        file_name=f"{avatar_id}.{suffix}",
        thumbnail_name=f"{avatar_id}.png",
        size_bytes=len(data),
        bones=sorted(report.bones),
        expressions=sorted(e for e, binds in report.expressions.items() if binds),
    )
    # Written where nothing is served first, moved into the served folder only once the row and
    # its audit entry are committed: a refused or failed upload leaves nothing anyone can load.
    with staged_files(
        settings.data_dir, {avatar.file_name: data, avatar.thumbnail_name: thumbnail}
    ) as staged:
        add_avatar(session, brand, avatar, actor=f"brand {brand.id} admin")
        staged.publish(settings.data_dir / "avatars")
    return _out(avatar)


@router.get("", response_model=list[AvatarOut])
def list_avatars(brand: CurrentBrandAdmin, session: SessionDep) -> list[AvatarOut]:
    return [_out(a) for a in brand_avatars(session, brand)]


@router.get("/{avatar_id}", response_model=AvatarOut)
def get_avatar(avatar_id: str, brand: CurrentBrandAdmin, session: SessionDep) -> AvatarOut:
    avatar = brand_avatar(session, brand, avatar_id)
    if avatar is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no avatar {avatar_id} in this brand")
    return _out(avatar)
