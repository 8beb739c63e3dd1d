"""Dependencies the routes share: the database session, the care desk and who is calling.

Callers: a brand admin (``X-API-Key``), an operator or supervisor (``Authorization: Bearer aco_…``)
and a customer (``Authorization: Bearer <session access token>`` returned by the join).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Request, status
from sqlalchemy.orm import Session

from avatar_care.api import input_policy
from avatar_care.core.config import Settings
from rooms.brands import brand_for_api_key
from rooms.desk import CareDesk, Closed
from rooms.errors import CareError, Conflict, Forbidden, Invalid, NotFound
from rooms.models import Brand, CareSession, OperatorAccount
from rooms.operators import operator_for_token


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_desk(request: Request) -> CareDesk:
    desk: CareDesk = request.app.state.desk
    return desk


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DeskDep = Annotated[CareDesk, Depends(get_desk)]


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


def bearer(authorization: Annotated[str | None, Header()] = None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this needs a token in the Authorization header (Bearer …)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return authorization[7:].strip()


def operator_from_token(session: Session, desk: CareDesk, token: str) -> OperatorAccount:
    account = operator_for_token(session, token, desk.clock.now())
    if account is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or expired operator token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return account


def get_current_operator(
    session: SessionDep, desk: DeskDep, token: Annotated[str, Depends(bearer)]
) -> OperatorAccount:
    return operator_from_token(session, desk, token)


CurrentOperator = Annotated[OperatorAccount, Depends(get_current_operator)]


def get_current_supervisor(operator: CurrentOperator) -> OperatorAccount:
    if operator.role != "supervisor":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this is for supervisors")
    return operator


CurrentSupervisor = Annotated[OperatorAccount, Depends(get_current_supervisor)]


def customer_from_token(desk: CareDesk, token: str) -> CareSession:
    cs = desk.session_for_access(token)
    if cs is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "unknown session token", headers={"WWW-Authenticate": "Bearer"}
        )
    return cs


def get_current_customer(desk: DeskDep, token: Annotated[str, Depends(bearer)]) -> CareSession:
    return customer_from_token(desk, token)


CurrentCustomer = Annotated[CareSession, Depends(get_current_customer)]

_STATUS = {NotFound: 404, Conflict: 409, Invalid: 422, Forbidden: 403}


def install_error_handlers(app: FastAPI) -> None:
    """The domain's refusals become HTTP errors with their message in ``detail``; every other kind
    of bad input by the one input policy (``avatar_care.api.input_policy``)."""
    input_policy.install(app)

    async def handle(_request: Request, exc: Exception) -> input_policy.SafeJSONResponse:
        code = next((c for kind, c in _STATUS.items() if isinstance(exc, kind)), 400)
        body: dict[str, object] = {"detail": str(exc)}
        if isinstance(exc, Closed):
            body["next_open"] = exc.next_open.isoformat() if exc.next_open else None
        return input_policy.SafeJSONResponse(body, status_code=code)

    app.add_exception_handler(CareError, handle)
