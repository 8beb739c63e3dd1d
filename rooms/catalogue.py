"""The brand's catalogue, products shown in a session, the shared cart, and the checkout hand-off.

Checkout posts the cart as JSON to the brand's URL, signed with HMAC-SHA256 of the exact body
under the brand's webhook secret, in the ``X-Avatar-Care-Signature: sha256=<hex>`` header.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rooms.audit import record
from rooms.db import commit_first_wins
from rooms.errors import Conflict, Invalid, NotFound
from rooms.models import Brand, BrandSecrets, CareSession, CartLine, CatalogueItem

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Avatar-Care-Signature"


@dataclass
class ItemSpec:
    name: str
    kind: str
    media_url: str
    link: str
    price: str = ""


def secrets_of(db: Session, brand_id: int) -> BrandSecrets:
    """The brand's shared secrets, made on first use."""
    row = db.get(BrandSecrets, brand_id)
    if row is None:
        row = BrandSecrets(
            brand_id=brand_id, join_secret=secrets.token_urlsafe(32), webhook_secret=secrets.token_urlsafe(32)
        )
        db.add(row)
        if not commit_first_wins(db):  # a concurrent first use made them: those stand
            row = db.get(BrandSecrets, brand_id)
            assert row is not None
    return row


def rotate_secret(db: Session, brand_id: int, which: str, actor: str) -> BrandSecrets:
    """A new join or webhook secret (``which``); tokens signed with the old one stop working at once."""
    if which not in ("join_secret", "webhook_secret"):
        raise Invalid("which secret: join_secret or webhook_secret")
    row = secrets_of(db, brand_id)
    setattr(row, which, secrets.token_urlsafe(32))
    record(db, brand_id, actor, f"brand.{which}_rotate", {})
    db.commit()
    return row


def _check(spec: ItemSpec) -> None:
    if spec.kind not in ("image", "model"):
        raise Invalid("kind must be image or model (a 3D model)")
    if not spec.name.strip():
        raise Invalid("a product needs a name")


def add_item(db: Session, brand: Brand, spec: ItemSpec, actor: str) -> CatalogueItem:
    _check(spec)
    item = CatalogueItem(id=secrets.token_hex(8), brand_id=brand.id, **spec.__dict__)
    db.add(item)
    record(db, brand.id, actor, "catalogue.add", {"item": item.id, "name": spec.name})
    db.commit()
    return item


def update_item(db: Session, brand: Brand, item_id: str, spec: ItemSpec, actor: str) -> CatalogueItem:
    """A product changed as a whole. Carts show it as it is now; a consultation's record of what was
    shown keeps it as it was when shown (the ``product_shown`` event holds a copy)."""
    _check(spec)
    item = brand_item(db, brand.id, item_id)
    for key, value in spec.__dict__.items():
        setattr(item, key, value)
    record(db, brand.id, actor, "catalogue.update", {"item": item.id, "name": spec.name})
    db.commit()
    return item


def remove_item(db: Session, brand: Brand, item_id: str, actor: str) -> None:
    """The product leaves the catalogue and every cart it is in (carts of ended consultations too: a
    checkout already sent its lines to the brand); what was shown stays in the consultations' events."""
    item = brand_item(db, brand.id, item_id)
    for line in db.scalars(select(CartLine).where(CartLine.item_id == item.id)):
        db.delete(line)
    db.delete(item)
    record(db, brand.id, actor, "catalogue.remove", {"item": item.id, "name": item.name})
    db.commit()


def brand_items(db: Session, brand_id: int) -> list[CatalogueItem]:
    return list(
        db.scalars(
            select(CatalogueItem).where(CatalogueItem.brand_id == brand_id).order_by(CatalogueItem.name)
        )
    )


def brand_item(db: Session, brand_id: int, item_id: str) -> CatalogueItem:
    item = db.get(CatalogueItem, item_id)
    if item is None or item.brand_id != brand_id:
        raise NotFound(f"no product {item_id} in this brand's catalogue")
    return item


def set_cart_line(db: Session, cs: CareSession, item_id: str, quantity: int) -> None:
    if cs.state != "connected":
        raise Conflict("the cart is open while the consultation is connected")
    if quantity < 0 or quantity > 99:
        raise Invalid("quantity goes from 0 to 99")
    brand_item(db, cs.brand_id, item_id)
    line = db.get(CartLine, (cs.id, item_id))
    if quantity == 0:
        if line is not None:
            db.delete(line)
    elif line is None:
        db.add(CartLine(session_id=cs.id, item_id=item_id, quantity=quantity))
        if commit_first_wins(db):
            return
        line = db.get(CartLine, (cs.id, item_id))  # added at the same moment: this quantity is the last
        if line is not None:
            line.quantity = quantity
    else:
        line.quantity = quantity
    db.commit()


def cart(db: Session, session_id: str) -> list[dict[str, Any]]:
    rows = db.execute(
        select(CartLine, CatalogueItem)
        .join(CatalogueItem, CatalogueItem.id == CartLine.item_id)
        .where(CartLine.session_id == session_id)
        .order_by(CatalogueItem.name)
    )
    return [
        {
            "item_id": item.id,
            "name": item.name,
            "quantity": line.quantity,
            "price": item.price,
            "link": item.link,
        }
        for line, item in rows
    ]


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class CheckoutFailed(Conflict):
    """The brand's checkout was not reached or refused the cart; the customer hears only that, the
    reason goes to the log and the session's events (for the brand)."""

    def __init__(self, reason: str) -> None:
        super().__init__("the shop's checkout could not take the cart just now; it is kept, try again")
        self.reason = reason


class CartNotSent(Exception):
    """The sender did not deliver the cart; the message says why (for the log, never the customer)."""


#: Delivers a signed cart (URL, body, headers) and answers the brand's HTTP status, or raises
#: CartNotSent. The I/O shell provides it (avatar_care/webhooks.py): the domain does no network I/O.
SendCart = Callable[[str, bytes, dict[str, str]], int]


def checkout(db: Session, cs: CareSession, send: SendCart) -> int:
    """Send the cart to the brand's checkout URL; the brand's HTTP status. Raises Conflict if it cannot."""
    lines = cart(db, cs.id)
    if not lines:
        raise Conflict("the cart is empty")
    brand_secrets = secrets_of(db, cs.brand_id)
    if not brand_secrets.checkout_url:
        raise Conflict("this brand has no checkout URL configured")
    body = json.dumps(
        {"session_id": cs.id, "customer": cs.customer_ref, "lines": lines}, separators=(",", ":")
    ).encode("utf-8")
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(brand_secrets.webhook_secret, body)}
    try:
        status_code = send(brand_secrets.checkout_url, body, headers)
    except CartNotSent as exc:
        logger.warning("checkout of session %s not sent: %s", cs.id, exc)
        raise CheckoutFailed(str(exc)) from None
    if status_code >= 400:
        logger.warning("checkout of session %s refused by the brand: HTTP %s", cs.id, status_code)
        raise CheckoutFailed(f"the brand's checkout answered HTTP {status_code}")
    return status_code
