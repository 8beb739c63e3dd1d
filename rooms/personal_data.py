"""Which tables hold a customer's personal data, how each is reached, and what erasing does to it.

Every table of the schema is either in :data:`PERSONAL` (with how its rows are found from a
consultation or from the brand's customer id, and whether erasure deletes the rows or blanks
columns) or in :data:`NO_CUSTOMER_DATA` with the reason. :func:`uncovered` walks the SQLAlchemy
metadata and names every table and column that could hold personal data and is in neither: a new
table or column fails the test (``tests/rooms/test_personal_data.py``) until somebody decides.

A column *could hold personal data* when any of these is true:

- it carries the marker ``info={"personal": True}`` (``mapped_column(..., info=PERSONAL_MARK)``);
- it is free text or free structure (``Text``, ``JSON``): anything can be written there;
- a word of its name (split at ``_``) is one of :data:`PERSONAL_WORDS` (name, email, phone, contact,
  text, comment, note, message, address, customer, topic, context, detail, answer, ...).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import JSON, Column, MetaData, Table, Text

logger = logging.getLogger(__name__)

#: Put on a column that holds personal data whatever its name or type says.
PERSONAL_MARK = {"personal": True}

#: Words of a column's name that mean it may hold something about a person.
PERSONAL_WORDS = frozenset(
    {
        "name",
        "email",
        "mail",
        "phone",
        "contact",
        "text",
        "comment",
        "note",
        "notes",
        "message",
        "address",
        "customer",
        "topic",
        "context",
        "detail",
        "answer",
        "login",
        "subject",
        "birth",
        "ip",
    }
)


@dataclass(frozen=True)
class PersonalTable:
    """A table with a customer's data. ``reach``: ``session`` (a ``session_id`` column),
    ``session_row`` (the consultation itself), ``customer`` (a ``customer_ref`` column of the brand,
    and ``session_id`` where set). ``erase``: ``delete`` the rows, or ``blank`` the :attr:`erased`
    columns and keep the others, each flagged one with the reason in :attr:`kept`."""

    reach: Literal["session", "session_row", "customer"]
    erase: Literal["delete", "blank"]
    erased: tuple[str, ...] = ()
    kept: dict[str, str] = field(default_factory=dict)


PERSONAL: dict[str, PersonalTable] = {
    "care_sessions": PersonalTable(
        reach="session_row",
        erase="blank",
        erased=("customer_ref", "customer_name", "topic", "context", "notes", "access_hash"),
        kept={
            "recording_consent": "given or declined: the proof of the customer's answer, nothing they said",
            "skills": "the room's required skills, copied from its template: nothing about the customer",
        },
    ),
    "chat_messages": PersonalTable(reach="session", erase="delete"),
    "session_events": PersonalTable(
        reach="session",
        erase="blank",
        erased=("detail",),
        kept={},
    ),
    "problem_reports": PersonalTable(reach="session", erase="delete"),
    "survey_answers": PersonalTable(
        reach="session",
        erase="blank",
        erased=("comment",),
        kept={},
    ),
    "cart_lines": PersonalTable(reach="session", erase="delete"),
    "contact_requests": PersonalTable(reach="customer", erase="delete"),
    # the row; its files (voices, motion, chat) are deleted after the commit (rooms.recordings)
    "recordings": PersonalTable(reach="session", erase="delete"),
}

#: Tables that hold no customer's personal data, and why (checked by the same test).
NO_CUSTOMER_DATA: dict[str, str] = {
    "brands": "the brand's own name",
    "avatars": "the brand's avatar files and their bone and expression names",
    "audit_log": "what the brand's staff did, with ids; erasure records who asked and counts, never content",
    "brand_secrets": "the brand's own secrets",
    "supervision_settings": "whether the brand tells its customers of a supervisor listening",
    "room_templates": "the brand's room setup (name, greeting, languages, hours, scene, colour, logo file)",
    "operators": "the brand's staff accounts, not customers (a person leaving is disabled or deleted)",
    "brand_sign_in": "the brand's sign-in settings",
    "oidc_logins": "a staff sign-in in flight, deleted when it returns or expires",
    "operator_tokens": "hashed staff tokens",
    "used_join_tokens": "one-time ids of join links, kept until the link expires",
    "catalogue_items": "the brand's products",
    # the queue's state on PostgreSQL (rooms/desk/pg_queue_state.py): ids and routing needs only,
    # and only while a customer waits or sits in a room (the rows go when they leave)
    "queue_version": "a counter of the queue's changes",
    "queue_operators": "staff presence, capacity, languages and skills for routing",
    "queue_waiting": "a waiting session's id, language and skills asked for, and staff ids who declined",
    "queue_offers": "which operator is offered which session id, until when",
    "queue_rooms": "a running room's operator and the session ids seated in it",
    # the room workers (avatar_care/workers/): processes and room ids, nothing about a person
    "room_workers": "a room worker process: its internal signaling URL, heartbeat, room count and CPU",
    "room_placements": "which worker process runs which live room (ids only)",
    "queue_changes": "which queue row (a session, operator or room id) a recent version changed",
    "metrics_snapshots": "a server process's Prometheus figures: counts and times, per room id at most",
}


def may_be_personal(column: Column[object]) -> bool:
    """The rule of the module's docstring."""
    if column.info.get("personal"):
        return True
    if isinstance(column.type, (Text, JSON)):
        return True
    return any(word in PERSONAL_WORDS for word in column.name.lower().split("_"))


def uncovered(metadata: MetaData) -> list[str]:
    """Every reason the registry does not cover the schema: a table with a column that may hold
    personal data in neither list, a blanked table's flagged column neither erased nor kept with
    a reason, a registered column or table that does not exist. Empty when covered."""
    problems: list[str] = []
    tables: dict[str, Table] = dict(metadata.tables)
    for name, table in sorted(tables.items()):
        flagged = [c.name for c in table.columns if may_be_personal(c)]
        if name in PERSONAL:
            entry = PERSONAL[name]
            columns = set(table.columns.keys())
            for listed in (*entry.erased, *entry.kept):
                if listed not in columns:
                    problems.append(f"{name}.{listed} is in the registry but not in the table")
            if entry.reach == "session" and "session_id" not in columns:
                problems.append(f"{name} is reached by session but has no session_id")
            if entry.reach == "customer" and "customer_ref" not in columns:
                problems.append(f"{name} is reached by customer but has no customer_ref")
            if entry.erase == "blank":
                for column in flagged:
                    if column not in entry.erased and column not in entry.kept:
                        problems.append(
                            f"{name}.{column} may hold personal data: erase it or say why it is kept"
                        )
        elif name in NO_CUSTOMER_DATA:
            continue
        elif flagged:
            problems.append(
                f"table {name} has columns that may hold personal data ({', '.join(flagged)}): "
                "add it to rooms.personal_data.PERSONAL or NO_CUSTOMER_DATA"
            )
    for name in (*PERSONAL, *NO_CUSTOMER_DATA):
        if name not in tables:
            problems.append(f"{name} is in the registry but not in the schema")
    return problems
