"""The queue's state kept in PostgreSQL, shared by every server process on the database.

Waiting customers, offers, running rooms and operators as routing sees them are rows
(``rooms.models.Queue*``). Holding the state (``held()``) takes a transaction-scoped advisory lock,
so one decision at a time reads and changes the queue, in whichever process it is made; the rows
are read into a :class:`rooms.routing.Router`, the router's rules run on it unchanged (the
missed-offer rule stays in ``Router.expire_offers``), and what changed is written back and
committed when the outermost hold ends. A version row, bumped by every write, lets a process keep
its copy while nobody else changed the queue, so a read costs one small query under the lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, insert, select, text, update

from rooms.models import QueueOffer, QueueOperator, QueueRoom, QueueVersion, QueueWaiting
from rooms.routing import Offer, Operator, Presence, Router, Waiting
from rooms.seating import SeatedRoom

logger = logging.getLogger(__name__)

#: advisory lock id held while a decision reads and changes the queue (a constant used for nothing else)
QUEUE_LOCK_KEY = 0x61766371  # "avcq"

Row = tuple[Any, ...]
Rows = dict[str, dict[str, Row]]  # table name -> key -> the row's other values

_OPERATORS: Table = QueueOperator.__table__  # type: ignore[assignment]
_WAITING: Table = QueueWaiting.__table__  # type: ignore[assignment]
_OFFERS: Table = QueueOffer.__table__  # type: ignore[assignment]
_ROOMS: Table = QueueRoom.__table__  # type: ignore[assignment]
_VERSION: Table = QueueVersion.__table__  # type: ignore[assignment]
#: each table, its key column and its other columns, in the order a Row holds them
_COLUMNS: dict[str, tuple[Table, str, tuple[str, ...]]] = {
    "operators": (
        _OPERATORS,
        "id",
        (
            "brand_id",
            "languages",
            "skills",
            "idle_since",
            "presence",
            "capacity",
            "active",
            "after_call",
        ),
    ),
    "waiting": (
        _WAITING,
        "session_id",
        (
            "seq",
            "brand_id",
            "template_id",
            "language",
            "skills",
            "enqueued_at",
            "priority",
            "only_operator",
            "declined_by",
            "seats",
            "return_to",
        ),
    ),
    "offers": (_OFFERS, "session_id", ("operator_id", "offered_at", "expires_at", "room_id")),
    "rooms": (
        _ROOMS,
        "id",
        ("operator_id", "brand_id", "template_id", "seats", "opened_at", "customers"),
    ),
}


class PostgresQueueState:
    """``QueueState`` over the rows of one PostgreSQL database (see the module's docstring)."""

    def __init__(self, engine: Engine, accept_timeout: timedelta = timedelta(seconds=20)) -> None:
        self._engine = engine
        self._router = Router(accept_timeout)
        #: threads of this process take turns before the database lock (one connection each time)
        self._lock = threading.RLock()
        self._depth = 0
        #: the version of the rows the router holds; None: read them again
        self._version: int | None = None
        self._rows: Rows = {name: {} for name in _COLUMNS}
        #: the order waiting customers joined the list in (the router's list order)
        self._seq: dict[str, int] = {}

    # -- holding -----------------------------------------------------------------------------
    def held(self) -> AbstractContextManager[Any]:
        return self._holding()

    @contextmanager
    def _holding(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            with self._engine.connect() as connection:
                transaction = connection.begin()
                try:
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": QUEUE_LOCK_KEY})
                    self._read(connection)
                except BaseException:
                    self._version = None
                    transaction.rollback()
                    raise
                self._depth = 1
                try:
                    yield
                finally:
                    # What the decision changed is kept even when it raised afterwards, as in memory:
                    # the desk commits its own rows first, and the queue's state must follow them.
                    self._depth = 0
                    try:
                        self._write(connection)
                        transaction.commit()
                    except BaseException:
                        self._version = None
                        if transaction.is_active:
                            transaction.rollback()
                        raise

    def _read(self, connection: Connection) -> None:
        version = connection.execute(select(_VERSION.c.version).where(_VERSION.c.id == 1)).scalar()
        if version is not None and version == self._version:
            return  # nobody changed the queue since this process last read or wrote it
        rows: Rows = {}
        for name, (table, key, others) in _COLUMNS.items():
            result = connection.execute(select(table.c[key], *(table.c[c] for c in others)))
            rows[name] = {r[0]: tuple(r[1:]) for r in result}
        self._rows = rows
        self._version = version
        self._router = _router_from(rows, self._router.accept_timeout)
        self._seq = {sid: row[0] for sid, row in rows["waiting"].items()}

    def _write(self, connection: Connection) -> None:
        now_rows = self._current_rows()
        changed = False
        for name, (table, key, others) in _COLUMNS.items():
            before, after = self._rows[name], now_rows[name]
            gone = [k for k in before if k not in after]
            if gone:
                connection.execute(delete(table).where(table.c[key].in_(gone)))
            for k, row in after.items():
                if k not in before:
                    connection.execute(insert(table).values({key: k, **dict(zip(others, row, strict=True))}))
                elif before[k] != row:
                    connection.execute(
                        update(table).where(table.c[key] == k).values(dict(zip(others, row, strict=True)))
                    )
            changed = changed or bool(gone) or before != after
        if not changed:
            return
        version = (self._version or 0) + 1
        if self._version is None:
            connection.execute(delete(_VERSION))
            connection.execute(insert(_VERSION).values(id=1, version=version))
        else:
            result = connection.execute(update(_VERSION).where(_VERSION.c.id == 1).values(version=version))
            if result.rowcount == 0:
                connection.execute(insert(_VERSION).values(id=1, version=version))
        self._rows = now_rows
        self._version = version

    def _current_rows(self) -> Rows:
        r = self._router
        for w in r.waiting:
            if w.session_id not in self._seq:
                self._seq[w.session_id] = max(self._seq.values(), default=0) + 1
        waiting_ids = {w.session_id for w in r.waiting}
        self._seq = {sid: n for sid, n in self._seq.items() if sid in waiting_ids}
        return {
            "operators": {
                op.id: (
                    op.brand_id,
                    sorted(op.languages),
                    sorted(op.skills),
                    op.idle_since,
                    op.presence.value,
                    op.capacity,
                    op.active,
                    _after_call_row(op.after_call),
                )
                for op in r.operators.values()
            },
            "waiting": {
                w.session_id: (
                    self._seq[w.session_id],
                    w.brand_id,
                    w.template_id,
                    w.language,
                    sorted(w.skills),
                    w.enqueued_at,
                    w.priority,
                    w.only_operator,
                    sorted(w.declined_by),
                    w.seats,
                    w.return_to,
                )
                for w in r.waiting
            },
            "offers": {
                o.session_id: (o.operator_id, o.offered_at, o.expires_at, o.room_id)
                for o in r.offers.values()
            },
            "rooms": {
                room.id: (
                    room.operator_id,
                    room.brand_id,
                    room.template_id,
                    room.seats,
                    room.opened_at,
                    list(room.customers),
                )
                for room in r.rooms.values()
            },
        }

    def clear(self) -> None:
        with self.held():
            r = self._router
            r.operators.clear()
            r.waiting.clear()
            r.offers.clear()
            r.rooms.clear()
            r.seat_of.clear()

    # -- the QueueState interface: the router's rules, on the rows read under the lock ---------
    def add_operator(self, operator: Operator) -> None:
        with self.held():
            self._router.add_operator(operator)

    def operator(self, operator_id: str) -> Operator | None:
        with self.held():
            return self._router.operator(operator_id)

    def forget_operator(self, operator_id: str) -> None:
        with self.held():
            self._router.forget_operator(operator_id)

    def set_presence(self, operator_id: str, presence: Presence, now: datetime) -> None:
        with self.held():
            self._router.set_presence(operator_id, presence, now)

    def enqueue(self, customer: Waiting) -> None:
        with self.held():
            self._router.enqueue(customer)

    def leave(self, session_id: str) -> Waiting:
        with self.held():
            return self._router.leave(session_id)

    def customer(self, session_id: str) -> Waiting:
        with self.held():
            return self._router.customer(session_id)

    def in_order(self) -> list[Waiting]:
        with self.held():
            return self._router.in_order()

    def position(self, session_id: str) -> int:
        with self.held():
            return self._router.position(session_id)

    def eligible(self, customer: Waiting) -> list[Operator]:
        with self.held():
            return self._router.eligible(customer)

    def offer(self, session_id: str) -> Offer | None:
        with self.held():
            return self._router.offer(session_id)

    def offers_to(self, operator_id: str) -> list[Offer]:
        with self.held():
            return self._router.offers_to(operator_id)

    def expire_offers(self, now: datetime) -> list[Offer]:
        with self.held():
            return self._router.expire_offers(now)

    def dispatch(self, now: datetime) -> list[Offer]:
        with self.held():
            return self._router.dispatch(now)

    def accept(
        self, session_id: str, operator_id: str, now: datetime, new_room_id: str | None = None
    ) -> Waiting:
        with self.held():
            return self._router.accept(session_id, operator_id, now, new_room_id)

    def decline(self, session_id: str, operator_id: str) -> None:
        with self.held():
            self._router.decline(session_id, operator_id)

    def seat_for(self, offer: Offer) -> SeatedRoom | None:
        with self.held():
            return self._router.seat_for(offer)

    def room(self, room_id: str) -> SeatedRoom | None:
        with self.held():
            return self._router.room(room_id)

    def room_of(self, session_id: str) -> SeatedRoom | None:
        with self.held():
            return self._router.room_of(session_id)

    def is_seated(self, session_id: str) -> bool:
        with self.held():
            return self._router.is_seated(session_id)

    def restore_seat(self, session_id: str, room: SeatedRoom) -> None:
        with self.held():
            self._router.restore_seat(session_id, room)

    def leave_seat(self, session_id: str, now: datetime) -> tuple[SeatedRoom, bool]:
        with self.held():
            return self._router.leave_seat(session_id, now)

    def transfer(
        self,
        customer: Waiting,
        from_operator: str,
        now: datetime,
        *,
        to_operator: str | None = None,
        skills: frozenset[str] | None = None,
        template: tuple[str, int] | None = None,
    ) -> Waiting:
        with self.held():
            return self._router.transfer(
                customer, from_operator, now, to_operator=to_operator, skills=skills, template=template
            )

    def send_back_refused(self) -> list[Waiting]:
        with self.held():
            return self._router.send_back_refused()

    def hand_over(
        self, session_id: str, from_operator: str, to_operator: str, now: datetime, new_room_id: str
    ) -> SeatedRoom:
        with self.held():
            return self._router.hand_over(session_id, from_operator, to_operator, now, new_room_id)

    def start_after_call(self, operator_id: str, session_id: str, until: datetime, required: bool) -> None:
        with self.held():
            self._router.start_after_call(operator_id, session_id, until, required)

    def wrap_up(self, operator_id: str, session_id: str) -> None:
        with self.held():
            self._router.wrap_up(operator_id, session_id)


def _after_call_row(after_call: dict[str, tuple[datetime, bool]]) -> dict[str, list[Any]]:
    """An operator's after-call work as JSON: session id -> [end of the time box (ISO), required]."""
    return {sid: [until.isoformat(), required] for sid, (until, required) in sorted(after_call.items())}


def _router_from(rows: Rows, accept_timeout: timedelta) -> Router:
    router = Router(accept_timeout)
    for op_id, (brand_id, languages, skills, idle_since, presence, capacity, active, after_call) in rows[
        "operators"
    ].items():
        router.operators[op_id] = Operator(
            id=op_id,
            brand_id=brand_id,
            languages=frozenset(languages),
            skills=frozenset(skills),
            idle_since=idle_since,
            presence=Presence(presence),
            capacity=capacity,
            active=active,
            after_call={
                sid: (datetime.fromisoformat(until), bool(required))
                for sid, (until, required) in (after_call or {}).items()
            },
        )
    by_seq = sorted(rows["waiting"].items(), key=lambda item: item[1][0])
    for sid, (
        _,
        brand_id,
        template_id,
        language,
        skills,
        enqueued_at,
        priority,
        only,
        declined,
        seats,
        return_to,
    ) in by_seq:
        router.waiting.append(
            Waiting(
                session_id=sid,
                brand_id=brand_id,
                template_id=template_id,
                language=language,
                skills=frozenset(skills),
                enqueued_at=enqueued_at,
                priority=priority,
                only_operator=only,
                declined_by=set(declined),
                seats=seats,
                return_to=return_to,
            )
        )
    for sid, (operator_id, offered_at, expires_at, room_id) in rows["offers"].items():
        router.offers[sid] = Offer(sid, operator_id, offered_at, expires_at, room_id)
    for room_id, (operator_id, brand_id, template_id, seats, opened_at, customers) in rows["rooms"].items():
        router.rooms[room_id] = SeatedRoom(
            id=room_id,
            operator_id=operator_id,
            brand_id=brand_id,
            template_id=template_id,
            seats=seats,
            opened_at=opened_at,
            customers=list(customers),
        )
        for sid in customers:
            router.seat_of[sid] = room_id
    return router
