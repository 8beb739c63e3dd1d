"""Dependencies the routes share: the database session and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from sqlalchemy.orm import Session

from avatar_care.core.config import Settings
from rooms.brands import brand_for_api_key
from rooms.models import Brand


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_current_brand(session: SessionDep, x_api_key: Annotated[str | None, Header()] = None) -> Brand:
    """The brand whose admin API key came in the X-API-Key header."""
    if not x_api_key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "this needs a brand admin API key in the X-API-Key header"
        )
    brand = brand_for_api_key(session, x_api_key)
    if brand is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown API key")
    return brand


CurrentBrandAdmin = Annotated[Brand, Depends(get_current_brand)]
