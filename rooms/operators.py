"""Operators' accounts and their bearer tokens (from sign-in or issued by the brand admin).

Passwords are hashed and checked by the caller (the server uses argon2, off its event loop), so this
module holds the rules and not the algorithm.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rooms.audit import record
from rooms.clock import as_utc
from rooms.db import commit_first_wins
from rooms.errors import Conflict, Invalid, NotFound
from rooms.models import Brand, OperatorAccount, OperatorToken

ROLES = ("operator", "supervisor", "admin")
#: the roles that serve customers (an administrator signs in to manage the brand, not to take calls)
DESK_ROLES = ("operator", "supervisor")
TOKEN_PREFIX = "aco_"


@dataclass
class OperatorSpec:
    login: str
    name: str
    languages: list[str]
    skills: list[str] = field(default_factory=list)
    role: str = "operator"
    capacity: int = 1


def token_hash(token: str) -> str:
    # Tokens are 256 random bits: a fast hash suffices (argon2 is for low-entropy passwords).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_operator(
    session: Session,
    brand: Brand,
    spec: OperatorSpec,
    password_hash: str | None,
    actor: str,
) -> OperatorAccount:
    if spec.role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    if not spec.login.strip() or not spec.languages or spec.capacity < 1:
        raise Invalid("an operator needs a login, at least one language and a capacity of at least 1")
    if session.scalar(
        select(OperatorAccount).where(
            OperatorAccount.brand_id == brand.id, OperatorAccount.login == spec.login
        )
    ):
        raise Conflict(f"login {spec.login!r} is already taken in this brand")
    account = OperatorAccount(
        id=secrets.token_hex(8),
        brand_id=brand.id,
        password_hash=password_hash,
        presence="offline",
        **spec.__dict__,
    )
    session.add(account)
    record(session, brand.id, actor, "operator.create", {"operator": account.id, "login": spec.login})
    if not commit_first_wins(session):  # the same login created at the same moment
        raise Conflict(f"login {spec.login!r} is already taken in this brand")
    return account


def get_operator(session: Session, brand_id: int, operator_id: str) -> OperatorAccount:
    account = session.get(OperatorAccount, operator_id)
    if account is None or account.brand_id != brand_id:
        raise NotFound(f"no operator {operator_id}")
    return account


def brand_operators(session: Session, brand_id: int) -> list[OperatorAccount]:
    return list(
        session.scalars(
            select(OperatorAccount)
            .where(OperatorAccount.brand_id == brand_id)
            .order_by(OperatorAccount.login)
        )
    )


def issue_token(session: Session, account: OperatorAccount, now: datetime, ttl: timedelta) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(OperatorToken(token_hash=token_hash(token), operator_id=account.id, expires_at=now + ttl))
    session.commit()
    return token


def account_for_login(session: Session, brand_id: int, login: str) -> OperatorAccount | None:
    """The account that signs in with this login in this brand (the caller checks the password)."""
    return session.scalar(
        select(OperatorAccount).where(OperatorAccount.brand_id == brand_id, OperatorAccount.login == login)
    )


def operator_for_token(session: Session, token: str, now: datetime) -> OperatorAccount | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.get(OperatorToken, token_hash(token))
    if row is None:
        return None
    if as_utc(row.expires_at) <= now:
        session.execute(delete(OperatorToken).where(OperatorToken.token_hash == row.token_hash))
        session.commit()
        return None
    account = session.get(OperatorAccount, row.operator_id)
    if account is None or account.disabled:
        return None
    return account


def revoke_token(session: Session, token: str) -> None:
    """The token stops working at once (signing out)."""
    session.execute(delete(OperatorToken).where(OperatorToken.token_hash == token_hash(token)))
    session.commit()


def set_disabled(session: Session, account: OperatorAccount, disabled: bool, actor: str) -> None:
    """Disabling keeps the account and its history; it cannot sign in and its tokens are gone."""
    account.disabled = disabled
    if disabled:
        session.execute(delete(OperatorToken).where(OperatorToken.operator_id == account.id))
    action = "operator.disable" if disabled else "operator.enable"
    record(session, account.brand_id, actor, action, {"operator": account.id, "login": account.login})
    session.commit()


def delete_operator(session: Session, account: OperatorAccount, actor: str) -> None:
    session.execute(delete(OperatorToken).where(OperatorToken.operator_id == account.id))
    record(
        session, account.brand_id, actor, "operator.delete", {"operator": account.id, "login": account.login}
    )
    session.delete(account)
    session.commit()
