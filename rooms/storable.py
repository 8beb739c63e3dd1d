"""Values every supported database can store, checked before they are written.

PostgreSQL refuses a string longer than its ``VARCHAR(n)``, any NUL character in text, and an
``INTEGER`` outside 32 bits; SQLite stores all three without a word. Checking the declared column
types at flush time makes both databases behave the same (the stricter way) and turns what would be
a driver error mid-request into an ``Invalid`` refusal before anything of the change is written.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import BigInteger, Integer, SmallInteger, String, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from rooms.errors import Invalid

logger = logging.getLogger(__name__)

_INTEGER_BITS = {SmallInteger: 16, Integer: 32, BigInteger: 64}


def _integer_bits(column_type: object) -> int | None:
    for kind in (SmallInteger, BigInteger, Integer):  # subclasses before their base
        if isinstance(column_type, kind):
            return _INTEGER_BITS[kind]
    return None


def problem(column_type: object, value: object) -> str | None:
    """Why ``value`` cannot be stored in a column of this type, or None if it can."""
    if isinstance(column_type, String) and isinstance(value, str):
        if "\x00" in value:
            return "holds a NUL character"
        if column_type.length is not None and len(value) > column_type.length:
            return f"is longer than {column_type.length} characters"
    bits = _integer_bits(column_type)
    if bits is not None and isinstance(value, int) and not isinstance(value, bool):
        limit = 2 ** (bits - 1)
        if not -limit <= value < limit:
            return f"is outside the range of a {bits}-bit integer"
    return None


def check(obj: Any) -> None:
    """Raise ``Invalid`` naming the first value of a new or changed record that cannot be stored."""
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        # Only what this flush writes: a row stored before these checks stays editable.
        for value in state.attrs[attr.key].history.added:
            for column in attr.columns:
                reason = problem(column.type, value)
                if reason is not None:
                    logger.info("refused %s.%s: %s", state.mapper.local_table.name, column.name, reason)
                    raise Invalid(f"{column.name.replace('_', ' ')} {reason}")


def _before_flush(session: Session, _context: object, _instances: object) -> None:
    for obj in (*session.new, *session.dirty):
        check(obj)


def guard(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Check every record the factory's sessions flush."""
    event.listen(factory, "before_flush", _before_flush)
    return factory
