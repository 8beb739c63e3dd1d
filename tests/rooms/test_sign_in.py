"""The brand's sign-in rules on their own: which issuers, who is admitted, which role."""

from __future__ import annotations

import pytest

from rooms.models import BrandSignIn
from rooms.sign_in import (
    Identity,
    SignInRefused,
    admission_problem,
    identity_from_claims,
    issuer_problem,
    role_for,
)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://login.example.com", True),
        ("https://login.example.com/realms/care", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:3000", True),
        ("http://[::1]:3000", True),
        ("http://login.example.com", False),
        ("http://10.0.0.1", False),
        ("https://login.example.com/?a=1", False),
        ("https://user:pw@login.example.com", False),
        ("javascript:alert(1)", False),
        ("https://", False),
        ("https://[::1", False),
        ("https://login.example.com:99999", False),
    ],
)
def test_issuers_are_https_except_on_loopback(url: str, ok: bool) -> None:
    assert (issuer_problem(url) is None) == ok


def rule(
    domain: str | None = None, group: str | None = None, role_map: dict[str, str] | None = None
) -> BrandSignIn:
    return BrandSignIn(
        brand_id=1, oidc_email_domain=domain, oidc_group=group, oidc_role_claim="role", oidc_role_map=role_map
    )


def person(
    email: str | None = "ada@ottica.example", verified: bool = True, groups: tuple[str, ...] = ()
) -> Identity:
    return Identity(subject="s1", email=email, email_verified=verified, groups=groups)


def reason(row: BrandSignIn, who: Identity) -> str | None:
    problem = admission_problem(row, who)
    return None if problem is None else problem.code


def test_the_brands_rule_admits_by_verified_domain_and_or_group() -> None:
    assert reason(rule(domain="ottica.example"), person()) is None
    assert reason(rule(domain="ottica.example"), person("ADA@Ottica.Example")) is None
    assert reason(rule(domain="ottica.example"), person("ada@evil-ottica.example")) == "domain"
    assert reason(rule(domain="ottica.example"), person("ada@ottica.example.evil")) == "domain"
    assert reason(rule(domain="ottica.example"), person(verified=False)) == "email"
    assert reason(rule(domain="ottica.example"), person(email=None)) == "email"
    assert reason(rule(group="care"), person(email=None, groups=("care", "x"))) is None
    assert reason(rule(group="care"), person(groups=("carers",))) == "group"
    # both set: both must hold
    assert reason(rule("ottica.example", "care"), person(groups=("care",))) is None
    assert reason(rule("ottica.example", "care"), person()) == "group"
    assert reason(rule("ottica.example", "care"), person("a@b.example", groups=("care",))) == "domain"


def test_the_role_is_the_highest_the_claim_gives_and_operator_otherwise() -> None:
    def role(values: tuple[str, ...], role_map: dict[str, str] | None = None) -> str:
        return role_for(rule(role_map=role_map), Identity(subject="s", role_values=values))

    assert role(("admin",)) == "admin"
    assert role(("supervisor", "operator")) == "supervisor"
    assert role(("emperor",)) == "operator"
    assert role(()) == "operator"
    assert (
        role(("care-leads", "care-team"), {"care-leads": "supervisor", "care-team": "operator"})
        == "supervisor"
    )
    assert role(("admin",), {"care-team": "operator"}) == "operator"  # with a map, only the map counts


def test_claims_of_the_wrong_type_are_ignored_not_trusted() -> None:
    who = identity_from_claims(
        {"sub": "s", "email": ["a@b.c"], "email_verified": "true", "groups": "care", "role": [1, "admin"]},
        "role",
    )
    assert who == Identity(
        subject="s", email=None, email_verified=False, groups=("care",), role_values=("admin",)
    )
    # text no database stores (NUL, a lone surrogate, too long) is dropped, not stored half-way
    odd = identity_from_claims({"sub": "s", "email": "a\x00@b.c", "name": "Ada\ud800"}, "role")
    assert (odd.email, odd.name) == (None, None)
    for bad in ({}, {"sub": 5}, {"sub": ""}, {"sub": "x" * 256}, {"sub": "a\x00"}, {"sub": "\udc00"}):
        with pytest.raises(SignInRefused):
            identity_from_claims(bad, "role")
