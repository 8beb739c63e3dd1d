"""One page of a listing (tickets, survey answers): the page's bounds checked, and how many rows
the whole listing holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from rooms.errors import Invalid

#: the most rows a page may ask for
MAX_PAGE = 200


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit goes from 1 to {MAX_PAGE}")
    if offset < 0:
        raise Invalid("offset cannot be negative")


def count(db: Session, query: Select[*tuple[Any, ...]]) -> int:
    """How many rows ``query`` gives, before paging."""
    return db.scalar(select(func.count()).select_from(query.subquery())) or 0
