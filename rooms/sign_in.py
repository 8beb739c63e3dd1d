"""How a brand's people sign in: local passwords on or off, and the brand's OpenID provider with its
provisioning rule. The protocol itself (redirects, the code exchange, the ID token's signature) is
the I/O shell's (``avatar_care/auth/oidc.py``, ``avatar_care/api/routes/sso.py``); this module holds the settings, the pending logins and the
rule that decides who gets in, and with which role.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rooms.audit import record
from rooms.clock import as_utc
from rooms.db import commit_first_wins
from rooms.errors import Forbidden, Invalid
from rooms.models import BrandSignIn, OperatorAccount, PendingOidcLogin
from rooms.operators import ROLES
from rooms.storable import problem

#: How long a person has at the provider before the pending login is forgotten.
PENDING_LOGIN_TTL: Final = timedelta(minutes=10)
#: The pages a signed-in person may be sent back to (a name, never a URL: no open redirect).
RETURN_PAGES: Final = ("admin", "operator")
#: Roles from least to most privileged: several role values give the highest one mapped.
_RANK: Final = {"operator": 0, "supervisor": 1, "admin": 2}
DEFAULT_ROLE_CLAIM: Final = "avatar_care_role"
#: Languages of an account made at its first single sign-on (an administrator may serve no customer;
#: an operator's languages are not yet taken from the provider)
PROVISIONED_LANGUAGES: Final = ["it", "en"]


class SignInRefused(Forbidden):
    """A single sign-on that does not let the person in; ``code`` names why for the page."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# -- the brand's settings ------------------------------------------------------------------------
def issuer_problem(url: str) -> str | None:
    """Why ``url`` cannot be an OpenID issuer, or None.

    https only, except on loopback hosts: a provider on the same machine (the tests' own, a local
    development provider, as RFC 8252 allows loopback redirects for native apps) never crosses a
    network, so plain http there exposes nothing."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port out of range raises here)
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https URL like https://login.example.com"
    if parts.query or parts.fragment or parts.username or parts.password:
        return "must have no query, fragment or credentials"
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return "must be https (plain http only on a loopback host, for a provider on this machine)"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class OidcSettings:
    """A brand's OpenID provider and provisioning rule, as the brand administrator sets them."""

    issuer: str
    client_id: str
    #: None keeps the secret already stored (it is never shown back)
    client_secret: str | None
    email_domain: str | None = None
    group: str | None = None
    role_claim: str = DEFAULT_ROLE_CLAIM
    role_map: dict[str, str] | None = None


def settings_of(session: Session, brand_id: int) -> BrandSignIn:
    """The brand's sign-in settings (the defaults, unsaved, when it never set any)."""
    row = session.get(BrandSignIn, brand_id)
    if row is None:
        row = BrandSignIn(brand_id=brand_id, local_passwords=True, oidc_role_claim=DEFAULT_ROLE_CLAIM)
    return row


def oidc_configured(row: BrandSignIn) -> bool:
    return bool(row.oidc_issuer and row.oidc_client_id and row.oidc_client_secret)


def local_passwords_on(session: Session, brand_id: int) -> bool:
    row = session.get(BrandSignIn, brand_id)
    return row is None or row.local_passwords


def _check(oidc: OidcSettings, secret_stored: bool) -> None:
    problem = issuer_problem(oidc.issuer)
    if problem is not None:
        raise Invalid(f"issuer {problem}")
    if not oidc.client_id.strip():
        raise Invalid("client_id is needed")
    if oidc.client_secret is None and not secret_stored:
        raise Invalid("client_secret is needed the first time")
    if oidc.client_secret is not None and not oidc.client_secret.strip():
        raise Invalid("client_secret may not be empty")
    if not oidc.email_domain and not oidc.group:
        raise Invalid("a provisioning rule is needed: an email domain, a group, or both")
    if oidc.email_domain is not None and ("@" in oidc.email_domain or "." not in oidc.email_domain):
        raise Invalid("email_domain is a domain like example.com, without @")
    if not oidc.role_claim.strip():
        raise Invalid("role_claim names the claim that gives the role")
    for value, role in (oidc.role_map or {}).items():
        if role not in ROLES:
            raise Invalid(f"role_map: {value!r} maps to {role!r}, not one of {', '.join(ROLES)}")


def set_sign_in(
    session: Session, brand_id: int, local_passwords: bool, oidc: OidcSettings | None, actor: str
) -> BrandSignIn:
    """Save how the brand signs in; audited without the secret. Local passwords can be turned off
    only with single sign-on configured (the brand's API key still works for its servers)."""
    row = session.get(BrandSignIn, brand_id)
    stored = row is not None and bool(row.oidc_client_secret)
    if oidc is not None:
        _check(oidc, stored)
    if not local_passwords and oidc is None:
        raise Invalid("local passwords can be turned off only with single sign-on configured")
    if row is None:
        row = BrandSignIn(brand_id=brand_id)
        session.add(row)
    row.local_passwords = local_passwords
    detail: dict[str, object] = {"local_passwords": local_passwords, "single_sign_on": oidc is not None}
    if oidc is None:
        row.oidc_issuer = row.oidc_client_id = row.oidc_client_secret = None
        row.oidc_email_domain = row.oidc_group = row.oidc_role_map = None
        row.oidc_role_claim = DEFAULT_ROLE_CLAIM
    else:
        row.oidc_issuer = oidc.issuer
        row.oidc_client_id = oidc.client_id
        if oidc.client_secret is not None:
            row.oidc_client_secret = oidc.client_secret
        row.oidc_email_domain = oidc.email_domain.casefold() if oidc.email_domain else None
        row.oidc_group = oidc.group or None
        row.oidc_role_claim = oidc.role_claim
        row.oidc_role_map = dict(oidc.role_map) if oidc.role_map else None
        detail |= {
            "issuer": oidc.issuer,
            "client_id": oidc.client_id,
            "client_secret_changed": oidc.client_secret is not None,
            "email_domain": row.oidc_email_domain,
            "group": row.oidc_group,
            "role_claim": oidc.role_claim,
        }
    record(session, brand_id, actor, "brand.sign_in", detail)
    session.commit()
    return row


# -- pending logins ------------------------------------------------------------------------------
def begin_login(session: Session, brand_id: int, return_to: str, now: datetime) -> PendingOidcLogin:
    """A login on its way to the provider: its state, PKCE verifier and nonce, kept here (never in
    the browser) until it comes back once, or expires."""
    if return_to not in RETURN_PAGES:
        raise Invalid(f"return_to must be one of {', '.join(RETURN_PAGES)}")
    session.execute(delete(PendingOidcLogin).where(PendingOidcLogin.expires_at <= now))
    pending = PendingOidcLogin(
        state=secrets.token_urlsafe(32),
        brand_id=brand_id,
        # RFC 7636: 43 to 128 characters of [A-Za-z0-9-._~]; 64 random bytes give 86
        code_verifier=secrets.token_urlsafe(64),
        nonce=secrets.token_urlsafe(32),
        expires_at=now + PENDING_LOGIN_TTL,
        return_to=return_to,
    )
    session.add(pending)
    session.commit()
    return pending


def take_login(session: Session, state: str, now: datetime) -> PendingOidcLogin | None:
    """The pending login of ``state``, spent: a second callback with the same state (a replay, or
    two at once) finds nothing. None also when it expired."""
    pending = session.get(PendingOidcLogin, state)
    if pending is None:
        return None
    session.expunge(pending)
    # the delete decides who spends it: of two callbacks at once, one deletes the row
    spent = session.execute(delete(PendingOidcLogin).where(PendingOidcLogin.state == state))
    session.commit()
    if getattr(spent, "rowcount", 0) != 1 or as_utc(pending.expires_at) <= now:
        return None
    return pending


# -- who gets in ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Identity:
    """What the brand's provider vouches for about a person (from an ID token already validated)."""

    subject: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    groups: tuple[str, ...] = ()
    role_values: tuple[str, ...] = ()


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def _storable(value: object, column: Any) -> str | None:
    """``value`` when it is text the column stores on every database (valid Unicode, no NUL,
    short enough), else None."""
    if not isinstance(value, str) or not value.strip() or problem(column.type, value) is not None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return None
    return value


def identity_from_claims(claims: dict[str, object], role_claim: str) -> Identity:
    """The claims this module reads, each of the type it must have and storable (others are ignored)."""
    columns = OperatorAccount.__table__.c
    subject = _storable(claims.get("sub"), columns.oidc_subject)
    if subject is None:
        raise SignInRefused("invalid_token", "the provider's answer names no usable subject")
    email = _storable(claims.get("email"), columns.email)
    name = claims.get("name")
    return Identity(
        subject=subject,
        email=email if email is not None and "@" in email else None,
        email_verified=claims.get("email_verified") is True,
        name=_storable(name[:200], columns.name) if isinstance(name, str) else None,
        groups=_strings(claims.get("groups")),
        role_values=_strings(claims.get(role_claim)),
    )


def admission_problem(row: BrandSignIn, who: Identity) -> SignInRefused | None:
    """Why the brand's rule keeps this person out, or None. With both a domain and a group set,
    both must hold. Checked at every sign-in, not only the first: leaving the group at the
    provider locks the account out."""
    if row.oidc_email_domain:
        if who.email is None or not who.email_verified:
            return SignInRefused("email", "the provider vouches for no verified email address")
        if who.email.rsplit("@", 1)[1].casefold() != row.oidc_email_domain:
            return SignInRefused("domain", f"only addresses of {row.oidc_email_domain} may sign in here")
    if row.oidc_group and row.oidc_group not in who.groups:
        return SignInRefused("group", f"only members of the group {row.oidc_group} may sign in here")
    return None


def role_for(row: BrandSignIn, who: Identity) -> str:
    """The role the claim gives (through the brand's map when it has one); the highest when the
    claim holds several; operator, the least, when it gives none."""
    mapped = [(row.oidc_role_map or {v: v for v in ROLES}).get(value) for value in who.role_values]
    roles = [r for r in mapped if r in _RANK]
    return max(roles, key=_RANK.__getitem__) if roles else "operator"


def _free_login(session: Session, brand_id: int, who: Identity) -> str:
    digest = hashlib.sha256(who.subject.encode("utf-8")).hexdigest()[:10]
    # the login column holds 200 characters; an email may have 320
    wanted = who.email if who.email is not None and len(who.email) <= 180 else f"sso-{digest}"
    taken = session.scalar(
        select(OperatorAccount.id).where(
            OperatorAccount.brand_id == brand_id, OperatorAccount.login == wanted
        )
    )
    # a local account with the same login is another person as far as we know: never linked
    return f"{wanted}#{digest}" if taken else wanted


def sign_in_with_provider(session: Session, row: BrandSignIn, who: Identity) -> OperatorAccount:
    """The account of this person of the brand: found by (brand, subject), or made now by the
    brand's rule. Its role follows the claim at every sign-in; refusals raise :class:`SignInRefused`."""
    problem = admission_problem(row, who)
    if problem is not None:
        raise problem
    role = role_for(row, who)
    actor = f"single sign-on ({who.email or who.subject})"
    for _attempt in range(2):  # the second after losing a race to provision the same person
        account = session.scalar(
            select(OperatorAccount).where(
                OperatorAccount.brand_id == row.brand_id, OperatorAccount.oidc_subject == who.subject
            )
        )
        if account is not None:
            if account.disabled:
                raise SignInRefused("disabled", "this account is disabled")
            if account.role != role:
                record(
                    session, row.brand_id, actor, "operator.role",
                    {"operator": account.id, "from": account.role, "to": role},
                )  # fmt: skip
                account.role = role
            account.email = who.email
            session.commit()
            return account
        account = OperatorAccount(
            id=secrets.token_hex(8),
            brand_id=row.brand_id,
            login=_free_login(session, row.brand_id, who),
            name=who.name or who.email or who.subject[:200],
            password_hash=None,
            role=role,
            languages=list(PROVISIONED_LANGUAGES),
            skills=[],
            capacity=1,
            presence="offline",
            email=who.email,
            oidc_subject=who.subject,
        )
        session.add(account)
        record(
            session, row.brand_id, actor, "operator.provision",
            {"operator": account.id, "login": account.login, "role": role},
        )  # fmt: skip
        if commit_first_wins(session):
            return account
    raise SignInRefused("busy", "the account could not be made; try again")
