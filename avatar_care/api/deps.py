"""Dependencies the routes share: the database session, the care desk and who is calling.

Callers: a brand admin (``X-API-Key``), an operator or supervisor (``Authorization: Bearer aco_…``)
and a customer (``Authorization: Bearer <session access token>`` returned by the join).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Request, status
from sqlalchemy.orm import Session

from avatar_care.api import input_policy
from avatar_care.api.open_sockets import OpenSockets
from avatar_care.core.config import Settings
from rooms.brands import brand_for_api_key
from rooms.clock import as_utc
from rooms.desk import CareDesk, Closed
from rooms.errors import CareError, Conflict, Forbidden, Invalid, NotFound
from rooms.models import Brand, CareSession, OperatorAccount
from rooms.operators import operator_for_token


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


# The dependencies below that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency in its
# thread pool, so each one cost every request a trip through the pool's queue (four trips for one chat
# message, each waiting behind every other request's trips under load).


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_desk(request: Request) -> CareDesk:
    desk: CareDesk = request.app.state.desk
    return desk


async def get_open_sockets(request: Request) -> OpenSockets:
    sockets: OpenSockets = request.app.state.open_sockets
    return sockets


SessionDep = Annotated[Session, Depends(get_db)]
OpenSocketsDep = Annotated[OpenSockets, Depends(get_open_sockets)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DeskDep = Annotated[CareDesk, Depends(get_desk)]


def get_current_brand(
    request: Request,
    session: SessionDep,
    desk: DeskDep,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Brand:
    """The brand a brand administrator acts for: a person signed in with the admin role
    (``Authorization: Bearer``), or the brand's own servers with its API key (``X-API-Key``).
    Who it was is kept for the audit log (``AdminActor``)."""
    if x_api_key:
        brand = brand_for_api_key(session, x_api_key)
        if brand is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown API key")
        request.state.admin_actor = "API key"
        return brand
    if authorization and authorization.lower().startswith("bearer "):
        account = operator_for_token(session, authorization[7:].strip(), desk.clock.now())
        if account is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "unknown or expired token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if account.role != "admin":
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this is for the brand's administrators")
        brand = session.get(Brand, account.brand_id)
        assert brand is not None
        request.state.admin_actor = f"{account.name} ({account.login})"
        return brand
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "this needs a brand administrator: sign in (Authorization: Bearer) or the API key (X-API-Key)",
    )


CurrentBrandAdmin = Annotated[Brand, Depends(get_current_brand)]


async def get_admin_actor(request: Request, _brand: CurrentBrandAdmin) -> str:
    """Who the brand administrator is, as the audit log names them."""
    actor: str = request.state.admin_actor
    return actor


AdminActor = Annotated[str, Depends(get_admin_actor)]


async def bearer(authorization: Annotated[str | None, Header()] = None) -> str:
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


async def get_current_supervisor(operator: CurrentOperator) -> OperatorAccount:
    if operator.role != "supervisor":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this is for supervisors")
    return operator


CurrentSupervisor = Annotated[OperatorAccount, Depends(get_current_supervisor)]


#: After a consultation ends its customer's token may still read it, rate it and report a problem
#: for this long (the page's closing screen); then it stops working. Chat, cart and checkout close
#: with the consultation itself.
CUSTOMER_TOKEN_AFTER_END = timedelta(hours=1)


def customer_from_token(desk: CareDesk, token: str) -> CareSession:
    cs = desk.session_for_access(token)
    if cs is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "unknown session token", headers={"WWW-Authenticate": "Bearer"}
        )
    if cs.ended_at is not None and desk.clock.now() - as_utc(cs.ended_at) > CUSTOMER_TOKEN_AFTER_END:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this consultation has ended; its link no longer works",
            headers={"WWW-Authenticate": "Bearer"},
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
