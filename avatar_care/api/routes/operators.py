"""Operators: created by the brand admin; they sign in, say whether they are at the desk."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from avatar_care.api.deps import (
    AdminActor,
    CurrentBrandAdmin,
    CurrentOperator,
    DeskDep,
    OpenSocketsDep,
    SessionDep,
    bearer,
)
from avatar_care.core.login_guard import LoginGuard
from avatar_care.core.security import hash_password
from rooms.audit import record
from rooms.desk import CareDesk
from rooms.errors import Invalid
from rooms.models import OperatorAccount
from rooms.operators import (
    OperatorSpec,
    account_for_login,
    brand_operators,
    create_operator,
    delete_operator,
    get_operator,
    issue_token,
    revoke_token,
    set_disabled,
)
from rooms.passwords import MAX_LENGTH, password_problem
from rooms.routing import Presence
from rooms.sign_in import local_passwords_on

router = APIRouter(prefix="/api/operators", tags=["operators"])


class OperatorIn(BaseModel):
    login: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    languages: list[str] = Field(min_length=1)
    skills: list[str] = []
    role: str = Field(default="operator", pattern="^(operator|supervisor|admin)$")
    capacity: int = Field(default=1, ge=1, le=10)
    password: str | None = Field(
        default=None,
        description="8 to 128 characters, not a common one nor the login (NIST SP 800-63B); "
        "or none, and issue a token",
    )


class OperatorOut(BaseModel):
    id: str
    brand_id: int
    login: str
    name: str
    languages: list[str]
    skills: list[str]
    role: str
    capacity: int
    presence: str
    disabled: bool


class SignIn(BaseModel):
    brand_id: int
    login: str = Field(max_length=200)
    password: str = Field(max_length=MAX_LENGTH)


class TokenOut(BaseModel):
    token: str
    operator: OperatorOut


class PresenceIn(BaseModel):
    presence: Presence


class DisabledIn(BaseModel):
    disabled: bool


def out(a: OperatorAccount, desk: DeskDep) -> OperatorOut:
    return OperatorOut(
        id=a.id,
        brand_id=a.brand_id,
        login=a.login,
        name=a.name,
        languages=a.languages,
        skills=a.skills,
        role=a.role,
        capacity=a.capacity,
        presence=desk.presence(a.id).value,
        disabled=a.disabled,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OperatorOut)
def create(
    body: OperatorIn, brand: CurrentBrandAdmin, db: SessionDep, desk: DeskDep, actor: AdminActor
) -> OperatorOut:
    spec = OperatorSpec(body.login, body.name, body.languages, body.skills, body.role, body.capacity)
    problem = password_problem(body.password, body.login) if body.password is not None else None
    if problem is not None:
        raise Invalid(f"password: {problem}")
    account = create_operator(db, brand, spec, hash_password(body.password) if body.password else None, actor)
    desk.operator_changed(account)
    return out(account, desk)


@router.get("", response_model=list[OperatorOut])
def list_operators(brand: CurrentBrandAdmin, db: SessionDep, desk: DeskDep) -> list[OperatorOut]:
    return [out(a, desk) for a in brand_operators(db, brand.id)]


@router.post("/{operator_id}/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenOut)
def issue(
    operator_id: str, brand: CurrentBrandAdmin, db: SessionDep, desk: DeskDep, actor: AdminActor
) -> TokenOut:
    """A sign-in token for an operator, issued by the brand admin (shown once, valid 30 days)."""
    account = get_operator(db, brand.id, operator_id)
    record(db, brand.id, actor, "operator.token", {"operator": operator_id})
    token = issue_token(db, account, desk.clock.now(), timedelta(days=30))
    return TokenOut(token=token, operator=out(account, desk))


@router.post("/login", response_model=TokenOut)
async def login(body: SignIn, request: Request) -> TokenOut:
    """A token for the right password (12 hours); throttled, and no quicker for an unknown login."""
    guard: LoginGuard = request.app.state.login_guard
    desk: CareDesk = request.app.state.desk
    scope = str(body.brand_id)
    guard.admit(scope, body.login, request.client.host if request.client else "")

    def find() -> tuple[str, str | None] | None:
        with desk.sessions() as db:
            if not local_passwords_on(db, body.brand_id):
                # the brand's own choice, not a secret: said before any password is looked at
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    "this brand signs in with single sign-on only; local passwords are off",
                )
            account = account_for_login(db, body.brand_id, body.login)
            return None if account is None else (account.id, account.password_hash)

    found = await asyncio.to_thread(find)
    # a disabled account is refused after the same password check as a wrong password
    if not await guard.verify(found[1] if found else None, body.password):
        guard.failed(scope, body.login)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong brand, login or password")
    assert found is not None

    def signed_in() -> TokenOut:
        with desk.sessions() as db:
            account = db.get(OperatorAccount, found[0])
            if account is None or account.disabled:  # deleted or disabled meanwhile
                raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong brand, login or password")
            token = issue_token(db, account, desk.clock.now(), timedelta(hours=12))
            return TokenOut(token=token, operator=out(account, desk))

    return await asyncio.to_thread(signed_in)


@router.put("/{operator_id}/disabled", response_model=OperatorOut)
def disable(
    operator_id: str,
    body: DisabledIn,
    brand: CurrentBrandAdmin,
    db: SessionDep,
    desk: DeskDep,
    actor: AdminActor,
    sockets: OpenSocketsDep,
) -> OperatorOut:
    """Disable (or enable again) an account: it cannot sign in, and its tokens stop working at once,
    in its open sockets too."""
    account = get_operator(db, brand.id, operator_id)
    if body.disabled:
        desk.remove_operator(account.id)
    set_disabled(db, account, body.disabled, actor)
    if body.disabled:
        sockets.revoke_operator(account.id, "this account was disabled")
    if not body.disabled:
        desk.operator_changed(account)
    return out(account, desk)


@router.delete("/{operator_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(
    operator_id: str,
    brand: CurrentBrandAdmin,
    db: SessionDep,
    desk: DeskDep,
    actor: AdminActor,
    sockets: OpenSocketsDep,
) -> None:
    """Delete an account; its tokens stop working at once, in its open sockets too (its past
    consultations keep its id)."""
    account = get_operator(db, brand.id, operator_id)
    desk.remove_operator(account.id)
    delete_operator(db, account, actor)
    sockets.revoke_operator(account.id, "this account was deleted")


@router.post("/me/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    operator: CurrentOperator,
    db: SessionDep,
    token: Annotated[str, Depends(bearer)],
    sockets: OpenSocketsDep,
) -> None:
    """Sign out: this token stops working at once, and the sockets opened with it close."""
    revoke_token(db, token)
    sockets.revoke_token(token, "signed out")


@router.get("/me", response_model=OperatorOut)
def me(operator: CurrentOperator, desk: DeskDep) -> OperatorOut:
    return out(operator, desk)


@router.put("/me/presence", response_model=OperatorOut)
def set_presence(body: PresenceIn, operator: CurrentOperator, desk: DeskDep) -> OperatorOut:
    desk.set_presence(operator.id, body.presence)
    return out(operator, desk)
