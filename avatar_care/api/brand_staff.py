"""Who may read and work the brand's reports (tickets, survey answers, figures): the brand's
administrators (a person with the admin role, or the brand's servers with the API key) and its
supervisors. Who it was is kept for the audit log, named as the brand admin's routes name them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, status

from avatar_care.api.deps import DeskDep, SessionDep, operator_from_token
from rooms.brands import brand_for_api_key


@dataclass(frozen=True)
class BrandStaff:
    brand_id: int
    #: as the audit log names them: "Name (login)", or "API key"
    actor: str


def get_brand_staff(
    db: SessionDep,
    desk: DeskDep,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> BrandStaff:
    if x_api_key:
        brand = brand_for_api_key(db, x_api_key)
        if brand is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown API key")
        return BrandStaff(brand.id, "API key")
    if authorization and authorization.lower().startswith("bearer "):
        account = operator_from_token(db, desk, authorization[7:].strip())
        if account.role not in ("supervisor", "admin"):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "this is for supervisors and the brand's administrators"
            )
        return BrandStaff(account.brand_id, f"{account.name} ({account.login})")
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED, "this needs a brand admin API key or a supervisor's or admin's token"
    )


CurrentBrandStaff = Annotated[BrandStaff, Depends(get_brand_staff)]
