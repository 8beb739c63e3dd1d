"""How the brand's people sign in, set by its administrator: local passwords on or off, and the
brand's OpenID provider with its provisioning rule. The client secret is written, never read back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from avatar_care.api.deps import AdminActor, CurrentBrandAdmin, SessionDep
from rooms.sign_in import DEFAULT_ROLE_CLAIM, OidcSettings, oidc_configured, set_sign_in, settings_of

router = APIRouter(prefix="/api/brand/sign-in", tags=["brand"])

Role = Annotated[str, Field(pattern="^(operator|supervisor|admin)$")]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class OidcIn(BaseModel):
    issuer: str = Field(
        max_length=500,
        description="the provider's issuer URL; https, or http on a loopback host (a provider on this machine)",
    )
    client_id: Short
    client_secret: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="omit to keep the one stored; never shown back",
    )
    email_domain: Short | None = Field(
        default=None, description="provision people whose verified email is here"
    )
    group: Short | None = Field(
        default=None, description="provision members of this group (the groups claim)"
    )
    role_claim: Annotated[str, StringConstraints(min_length=1, max_length=100)] = DEFAULT_ROLE_CLAIM
    role_map: dict[Annotated[str, StringConstraints(max_length=200)], Role] | None = Field(
        default=None,
        max_length=50,
        description="the role claim's values and the role each gives; none: the value names the role",
    )


class SignInIn(BaseModel):
    local_passwords: bool = Field(description="false: the brand's people sign in only with single sign-on")
    oidc: OidcIn | None = Field(description="the brand's OpenID provider; null turns single sign-on off")


class OidcOut(BaseModel):
    issuer: str
    client_id: str
    client_secret_set: bool
    email_domain: str | None
    group: str | None
    role_claim: str
    role_map: dict[str, str] | None


class SignInOut(BaseModel):
    local_passwords: bool
    oidc: OidcOut | None
    #: where the provider must send people back (register it with the provider)
    callback_path: str = "/api/sso/callback"


@router.get("", response_model=SignInOut)
def get_sign_in(brand: CurrentBrandAdmin, db: SessionDep) -> SignInOut:
    row = settings_of(db, brand.id)
    oidc = None
    if row.oidc_issuer and row.oidc_client_id:
        oidc = OidcOut(
            issuer=row.oidc_issuer,
            client_id=row.oidc_client_id,
            client_secret_set=oidc_configured(row),
            email_domain=row.oidc_email_domain,
            group=row.oidc_group,
            role_claim=row.oidc_role_claim,
            role_map=row.oidc_role_map,
        )
    return SignInOut(local_passwords=row.local_passwords, oidc=oidc)


@router.put("", response_model=SignInOut)
def put_sign_in(body: SignInIn, brand: CurrentBrandAdmin, db: SessionDep, actor: AdminActor) -> SignInOut:
    """Malformed settings are refused with 422 and the reason; the secret is neither echoed nor audited."""
    oidc = None
    if body.oidc is not None:
        o = body.oidc
        oidc = OidcSettings(
            issuer=o.issuer.strip(),
            client_id=o.client_id,
            client_secret=o.client_secret,
            email_domain=o.email_domain,
            group=o.group,
            role_claim=o.role_claim.strip(),
            role_map=o.role_map,
        )
    set_sign_in(db, brand.id, body.local_passwords, oidc, actor)
    return get_sign_in(brand, db)
