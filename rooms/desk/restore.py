"""At start-up (after a restart): the queue's state rebuilt from the database.

Waiting customers keep their place (their original enqueue time and priority), open offers go back
to the queue, connected sessions still count against their operator's capacity and sit in their
live rooms again (``rooms.seating``), and the wait estimator learns the handle times of the past.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rooms.clock import Clock, as_utc
from rooms.desk.queue_state import QueueState
from rooms.desk.records import WAITING_STATES, add_event
from rooms.desk.routing_rows import routing_operator, waiting_customer
from rooms.models import CareSession, OperatorAccount, RoomTemplate
from rooms.routing import Presence
from rooms.seating import SeatedRoom, new_room_id
from rooms.wait import WaitEstimator

logger = logging.getLogger(__name__)


def restore(
    sessions: sessionmaker[Session], clock: Clock, state: QueueState, estimator: WaitEstimator
) -> None:
    now = clock.now()
    with state.held(), sessions() as db:
        state.clear()
        for account in db.scalars(select(OperatorAccount)):
            # Nobody is at the desk until their console connects again.
            account.presence = Presence.OFFLINE.value
            if not account.disabled and account.role != "admin":
                state.add_operator(routing_operator(account, now))
        for cs in db.scalars(select(CareSession).where(CareSession.state.in_(WAITING_STATES))):
            if cs.state == "offered":
                cs.state = "queued"
                add_event(db, cs, "offer_withdrawn", {"reason": "server restart"}, now)
            state.enqueue(waiting_customer(db, cs))
        connected = db.scalars(
            select(CareSession).where(CareSession.state == "connected").order_by(CareSession.connected_at)
        )
        for cs in connected:
            if cs.operator_id is None:
                continue
            if cs.live_room_id is None:  # connected before sessions had live rooms
                cs.live_room_id = new_room_id()
            template = db.get(RoomTemplate, cs.template_id)
            room = SeatedRoom(
                id=cs.live_room_id,
                operator_id=cs.operator_id,
                brand_id=cs.brand_id,
                template_id=cs.template_id,
                seats=template.max_customers if template else 1,
                opened_at=as_utc(cs.connected_at or now),
            )
            state.restore_seat(cs.id, room)
        restore_after_call(db, state, now)
        _learn(db, estimator)
        db.commit()
        logger.info("care desk loaded: %d waiting", len(state.in_order()))


def restore_after_call(db: Session, state: QueueState, now: datetime) -> None:
    """Operators' after-call work still running: a code still owed, or a time box not run out."""
    rows = db.execute(
        select(
            CareSession.id,
            CareSession.operator_id,
            CareSession.after_call_until,
            CareSession.wrap_up_required,
        ).where(
            CareSession.state == "ended",
            CareSession.after_call_until.is_not(None),
            CareSession.wrapped_up_at.is_(None),
        )
    )
    for session_id, operator_id, until, required in rows:
        if operator_id is not None and until is not None and (required or as_utc(until) > now):
            state.start_after_call(operator_id, session_id, as_utc(until), required)


def learn_handle_times(sessions: sessionmaker[Session], estimator: WaitEstimator) -> None:
    """Only the wait estimator's past (a process joining others that already run the queue)."""
    with sessions() as db:
        _learn(db, estimator)


def _learn(db: Session, estimator: WaitEstimator) -> None:
    ended = db.scalars(
        select(CareSession)
        .where(CareSession.state == "ended", CareSession.connected_at.is_not(None))
        .order_by(CareSession.ended_at)
    )
    for cs in ended:
        assert cs.connected_at is not None and cs.ended_at is not None
        estimator.record_handle_time(
            cs.template_id, (as_utc(cs.ended_at) - as_utc(cs.connected_at)).total_seconds()
        )
