"""The queue's state kept in PostgreSQL, shared by every server process on the database.

Waiting customers, offers, running rooms and operators as routing sees them are rows
(``rooms.models.Queue*``). Holding the state (``held()``) takes a transaction-scoped advisory lock,
so one decision at a time reads and changes the queue, in whichever process it is made; the rows
are read into a :class:`rooms.routing.Router`, the router's rules run on it unchanged (the
missed-offer rule stays in ``Router.expire_offers``), and what changed is written back and
committed when the outermost hold ends. A version row, bumped by every write, lets a process keep
its copy while nobody else changed the queue, so a read costs one small query under the lock.
Every write also lists the rows it changed under its version (``queue_changes``, the last
``KEEP_CHANGES`` versions), so a process whose copy is a few versions old reads those rows again
rather than the whole queue; a hold that changed nothing (a tick that offered nobody) writes
nothing, and one where only the tick's rules ran compares only the rows they can change. With every
change read whole and every row compared, a tick at 2,000 waiting and 400 operators cost 58-72 ms
of CPU; now 2.5-3.7 ms (benchmarks/router_tick.py, docs/scale.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, delete, insert, select, text, update

from rooms.desk.queue_figures import BrandQueue, figures_of
from rooms.models import QueueChange, QueueOffer, QueueOperator, QueueRoom, QueueVersion, QueueWaiting
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
_CHANGES: Table = QueueChange.__table__  # type: ignore[assignment]
#: how many versions of changes are kept: a copy older than that is read again whole
KEEP_CHANGES = 1000
#: each table, its key column and its other columns, in the order a Row holds them
_COLUMNS: dict[str, tuple[Table, str, tuple[str, ...]]] = {
    "operators": (
        _OPERATORS,
        "id",
        ("brand_id", "languages", "skills", "idle_since", "presence", "capacity", "active", "after_call"),
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
        #: whether this hold may have changed the router (only read-only calls made: no write)
        self._touched = False
        #: whether a change may be anywhere (every row is compared before writing); else only the
        #: rows in ``_keys`` may have changed (the tick's offers made and missed)
        self._everything = False
        self._keys: dict[str, set[str]] = {name: set() for name in _COLUMNS}

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
                    self._touched = self._everything = False
                    self._keys = {name: set() for name in _COLUMNS}
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
                        if self._touched:
                            self._write(connection)
                        transaction.commit()
                    except BaseException:
                        self._version = None
                        if transaction.is_active:
                            transaction.rollback()
                        raise

    def _read(self, connection: Connection) -> None:
        # The version and the changes since this copy's in one round trip (a statement after the
        # lock: its snapshot sees every write made before the lock was granted).
        mine = self._version
        listed = connection.execute(
            text(
                "SELECT version, NULL, NULL FROM queue_version WHERE id = 1 UNION ALL "
                "SELECT version, table_name, key FROM queue_changes "
                "WHERE version > :mine AND version < :mine + :keep"
            ),
            {"mine": -KEEP_CHANGES if mine is None else mine, "keep": KEEP_CHANGES},
        ).all()
        version = next((v for v, name, _ in listed if name is None), None)
        if version is not None and version == mine:
            return  # nobody changed the queue since this process last read or wrote it
        if version is not None and mine is not None and mine < version < mine + KEEP_CHANGES:
            self._read_changes(connection, [(name, key) for _, name, key in listed if name is not None])
        else:
            self._read_all(connection)
        self._version = version

    def _read_all(self, connection: Connection) -> None:
        rows: Rows = {}
        for name, (table, key, others) in _COLUMNS.items():
            result = connection.execute(select(table.c[key], *(table.c[c] for c in others)))
            rows[name] = {r[0]: tuple(r[1:]) for r in result}
        self._rows = rows
        self._router = _router_from(rows, self._router.accept_timeout)
        self._seq = {sid: row[0] for sid, row in rows["waiting"].items()}

    def _read_changes(self, connection: Connection, listed: list[tuple[str, str]]) -> None:
        """Only the rows changed after this copy's version (``listed``: table name, key), into the
        rows and the router held."""
        changed: dict[str, set[str]] = {name: set() for name in _COLUMNS}
        for name, key in listed:
            changed[name].add(key)
        r = self._router
        for name, keys in changed.items():
            if not keys:
                continue
            table, key, others = _COLUMNS[name]
            result = connection.execute(
                select(table.c[key], *(table.c[c] for c in others)).where(table.c[key].in_(keys))
            )
            now = {row[0]: tuple(row[1:]) for row in result}
            held = self._rows[name]
            for k in keys:
                if k in now:
                    held[k] = now[k]
                else:
                    held.pop(k, None)
            if name == "operators":
                for k in keys:
                    if k in now:
                        r.operators[k] = _operator_from(k, now[k])
                    else:
                        r.operators.pop(k, None)
            elif name == "waiting":
                joined = sorted((row[0], k) for k, row in now.items())
                last = max(self._seq.values(), default=0)
                if len(joined) == len(keys) and not keys & self._seq.keys() and joined[0][0] > last:
                    # only customers who joined after everyone held (the usual change): appended
                    r.waiting.extend(_waiting_from(k, now[k]) for _, k in joined)
                    self._seq.update({k: seq for seq, k in joined})
                else:
                    kept = {w.session_id: w for w in r.waiting if w.session_id not in keys}
                    kept.update({k: _waiting_from(k, row) for k, row in now.items()})
                    r.waiting = sorted(kept.values(), key=lambda w: held[w.session_id][0])
                    self._seq = {sid: row[0] for sid, row in held.items()}
            elif name == "offers":
                for k in keys:
                    if k in now:
                        r.offers[k] = _offer_from(k, now[k])
                    else:
                        r.offers.pop(k, None)
            else:
                for k in keys:
                    if k in now:
                        r.rooms[k] = _room_from(k, now[k])
                    else:
                        r.rooms.pop(k, None)
                r.seat_of = {sid: room.id for room in r.rooms.values() for sid in room.customers}

    def _write(self, connection: Connection) -> None:
        # Only the tick's rules ran: only their rows are built and compared (2,000 waiting rows
        # built and compared cost a tick that made one offer about 5 ms of CPU on a busy machine).
        now_rows = self._current_rows() if self._everything else self._rows_of(self._keys)
        changes: list[tuple[str, str]] = []
        for name, (table, key, others) in _COLUMNS.items():
            before, after = self._rows[name], now_rows[name]
            keys = [*before, *(k for k in after if k not in before)] if self._everything else self._keys[name]
            gone = [k for k in keys if k in before and k not in after]
            if gone:
                connection.execute(delete(table).where(table.c[key].in_(gone)))
            added = [k for k in keys if k in after and k not in before]
            changed = [k for k in keys if k in after and k in before and before[k] != after[k]]
            # one statement for many rows (a tick after a restart may make hundreds of offers)
            if added:
                connection.execute(
                    insert(table), [{key: k, **dict(zip(others, after[k], strict=True))} for k in added]
                )
            if changed:
                connection.execute(
                    update(table)
                    .where(table.c[key] == bindparam("row_key"))
                    .values({c: bindparam(c) for c in others}),
                    [{"row_key": k, **dict(zip(others, after[k], strict=True))} for k in changed],
                )
            changes += [(name, k) for k in (*gone, *added, *changed)]
        if not changes:
            return
        version = (self._version or 0) + 1
        if self._version is None:  # versions start again at 1: older changes would be misread
            connection.execute(delete(_CHANGES))
        # The version and the list of what it changed in one round trip.
        connection.execute(
            text(
                "WITH bumped AS (INSERT INTO queue_version (id, version) VALUES (1, :version) "
                "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version RETURNING version) "
                "INSERT INTO queue_changes (version, table_name, key) "
                "SELECT bumped.version, changed.name, changed.key FROM bumped, "
                "unnest(CAST(:names AS varchar[]), CAST(:keys AS varchar[])) AS changed(name, key)"
            ),
            {"version": version, "names": [n for n, _ in changes], "keys": [k for _, k in changes]},
        )
        if version % 100 == 0:  # now and then, not at every write: a copy older than that is read whole
            connection.execute(delete(_CHANGES).where(_CHANGES.c.version <= version - KEEP_CHANGES))
        if self._everything:
            self._rows = now_rows
        else:
            for name, keys in self._keys.items():
                for k in keys:
                    if k in now_rows[name]:
                        self._rows[name][k] = now_rows[name][k]
                    else:
                        self._rows[name].pop(k, None)
        self._version = version

    def _current_rows(self) -> Rows:
        r = self._router
        for w in r.waiting:
            if w.session_id not in self._seq:
                self._seq[w.session_id] = max(self._seq.values(), default=0) + 1
        waiting_ids = {w.session_id for w in r.waiting}
        self._seq = {sid: n for sid, n in self._seq.items() if sid in waiting_ids}
        return {
            "operators": {op.id: _operator_row(op) for op in r.operators.values()},
            "waiting": {w.session_id: _waiting_row(w, self._seq[w.session_id]) for w in r.waiting},
            "offers": {o.session_id: _offer_row(o) for o in r.offers.values()},
            "rooms": {room.id: _room_row(room) for room in r.rooms.values()},
        }

    def _rows_of(self, keys: dict[str, set[str]]) -> Rows:
        """The rows of these keys only, as the router holds them now (absent: gone)."""
        r = self._router
        operators = (r.operators.get(k) for k in keys["operators"])
        offers = (r.offers.get(k) for k in keys["offers"])
        rooms = (r.rooms.get(k) for k in keys["rooms"])
        return {
            "operators": {op.id: _operator_row(op) for op in operators if op is not None},
            "waiting": {
                w.session_id: _waiting_row(w, self._seq[w.session_id])
                for w in r.waiting
                if w.session_id in keys["waiting"]
            },
            "offers": {o.session_id: _offer_row(o) for o in offers if o is not None},
            "rooms": {room.id: _room_row(room) for room in rooms if room is not None},
        }

    def clear(self) -> None:
        with self.held():
            self._touched = self._everything = True
            r = self._router
            r.operators.clear()
            r.waiting.clear()
            r.offers.clear()
            r.rooms.clear()
            r.seat_of.clear()

    def figures(self, now: datetime) -> dict[int, BrandQueue]:
        with self.held():
            return figures_of(self._router, now)

    # -- the QueueState interface: the router's rules, on the rows read under the lock ---------
    def add_operator(self, operator: Operator) -> None:
        with self.held():
            self._touched = self._everything = True
            self._router.add_operator(operator)

    def operator(self, operator_id: str) -> Operator | None:
        with self.held():
            return self._router.operator(operator_id)

    def forget_operator(self, operator_id: str) -> None:
        with self.held():
            self._touched = self._everything = True
            self._router.forget_operator(operator_id)

    def set_presence(self, operator_id: str, presence: Presence, now: datetime) -> None:
        with self.held():
            self._touched = self._everything = True
            self._router.set_presence(operator_id, presence, now)

    def enqueue(self, customer: Waiting) -> None:
        with self.held():
            self._touched = self._everything = True
            self._router.enqueue(customer)

    def leave(self, session_id: str) -> Waiting:
        with self.held():
            self._touched = self._everything = True
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
            missed = self._router.expire_offers(now)
            self._note(missed, [])
            return missed

    def dispatch(self, now: datetime) -> list[Offer]:
        with self.held():
            # dispatch's own first step, here to know what it changed
            missed = self._router.expire_offers(now)
            made = self._router.dispatch(now)
            self._note(missed, made)
            return made

    def _note(self, missed: list[Offer], made: list[Offer]) -> None:
        """The rows the tick's rules changed: a missed offer is gone, its customer declined it and
        its operator may be set away (``Router.expire_offers``); a new offer is a new row."""
        for offer in missed:
            self._keys["offers"].add(offer.session_id)
            self._keys["waiting"].add(offer.session_id)
            self._keys["operators"].add(offer.operator_id)
        self._keys["offers"].update(offer.session_id for offer in made)
        self._touched = self._touched or bool(missed or made)

    def accept(
        self, session_id: str, operator_id: str, now: datetime, new_room_id: str | None = None
    ) -> Waiting:
        with self.held():
            self._touched = self._everything = True
            return self._router.accept(session_id, operator_id, now, new_room_id)

    def decline(self, session_id: str, operator_id: str) -> None:
        with self.held():
            self._touched = self._everything = True
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
            self._touched = self._everything = True
            self._router.restore_seat(session_id, room)

    def leave_seat(self, session_id: str, now: datetime) -> tuple[SeatedRoom, bool]:
        with self.held():
            self._touched = self._everything = True
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
            self._touched = self._everything = True
            return self._router.transfer(
                customer, from_operator, now, to_operator=to_operator, skills=skills, template=template
            )

    def send_back_refused(self) -> list[Waiting]:
        with self.held():
            sent = self._router.send_back_refused()
            if sent:  # runs at every tick: a tick that sent nobody back writes nothing for it
                self._touched = self._everything = True
            return sent

    def hand_over(
        self, session_id: str, from_operator: str, to_operator: str, now: datetime, new_room_id: str
    ) -> SeatedRoom:
        with self.held():
            self._touched = self._everything = True
            return self._router.hand_over(session_id, from_operator, to_operator, now, new_room_id)

    def start_after_call(self, operator_id: str, session_id: str, until: datetime, required: bool) -> None:
        with self.held():
            self._touched = self._everything = True
            self._router.start_after_call(operator_id, session_id, until, required)

    def wrap_up(self, operator_id: str, session_id: str) -> None:
        with self.held():
            self._touched = self._everything = True
            self._router.wrap_up(operator_id, session_id)


def _after_call_row(after_call: dict[str, tuple[datetime, bool]]) -> dict[str, list[Any]]:
    """An operator's after-call work as JSON: session id -> [end of the time box (ISO), required]."""
    return {sid: [until.isoformat(), required] for sid, (until, required) in sorted(after_call.items())}


def _operator_row(op: Operator) -> Row:
    return (
        op.brand_id,
        sorted(op.languages),
        sorted(op.skills),
        op.idle_since,
        op.presence.value,
        op.capacity,
        op.active,
        _after_call_row(op.after_call),
    )


def _waiting_row(w: Waiting, seq: int) -> Row:
    return (
        seq,
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


def _offer_row(o: Offer) -> Row:
    return (o.operator_id, o.offered_at, o.expires_at, o.room_id)


def _room_row(room: SeatedRoom) -> Row:
    return (
        room.operator_id,
        room.brand_id,
        room.template_id,
        room.seats,
        room.opened_at,
        list(room.customers),
    )


def _router_from(rows: Rows, accept_timeout: timedelta) -> Router:
    router = Router(accept_timeout)
    for op_id, row in rows["operators"].items():
        router.operators[op_id] = _operator_from(op_id, row)
    for sid, row in sorted(rows["waiting"].items(), key=lambda item: item[1][0]):
        router.waiting.append(_waiting_from(sid, row))
    for sid, row in rows["offers"].items():
        router.offers[sid] = _offer_from(sid, row)
    for room_id, row in rows["rooms"].items():
        room = router.rooms[room_id] = _room_from(room_id, row)
        for sid in room.customers:
            router.seat_of[sid] = room_id
    return router


def _operator_from(op_id: str, row: Row) -> Operator:
    brand_id, languages, skills, idle_since, presence, capacity, active, after_call = row
    return Operator(
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


def _waiting_from(sid: str, row: Row) -> Waiting:
    _, brand_id, template_id, language, skills, enqueued_at, priority, only, declined, seats, return_to = row
    return Waiting(
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


def _offer_from(sid: str, row: Row) -> Offer:
    operator_id, offered_at, expires_at, room_id = row
    return Offer(sid, operator_id, offered_at, expires_at, room_id)


def _room_from(room_id: str, row: Row) -> SeatedRoom:
    operator_id, brand_id, template_id, seats, opened_at, customers = row
    return SeatedRoom(
        id=room_id,
        operator_id=operator_id,
        brand_id=brand_id,
        template_id=template_id,
        seats=seats,
        opened_at=opened_at,
        customers=list(customers),
    )
