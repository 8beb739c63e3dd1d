"""What the desk shows, read from the database and the queue's state together: the brand's queue as
operators see it, and a customer's wait (position, estimate, whether to offer a message instead)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from rooms.clock import Clock, as_utc
from rooms.desk.queue_state import QueueState
from rooms.desk.records import WAITING_STATES, WaitStatus
from rooms.errors import NotFound
from rooms.models import CareSession, OperatorAccount, RoomTemplate
from rooms.routing import Presence
from rooms.templates import business_hours
from rooms.wait import WaitEstimator


class DeskViews:
    def __init__(
        self, sessions: sessionmaker[Session], clock: Clock, state: QueueState, estimator: WaitEstimator
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.state = state
        self.estimator = estimator

    def queue_rows(self, brand_id: int) -> list[dict[str, Any]]:
        """The brand's waiting customers in serving order, with who holds an offer."""
        with self.state.held(), self.sessions() as db:
            rows = []
            for w in self.state.in_order():
                if w.brand_id != brand_id:
                    continue
                cs = db.get(CareSession, w.session_id)
                if cs is None:
                    continue
                offer = self.state.offer(w.session_id)
                rows.append(
                    {
                        "session_id": cs.id,
                        "template_id": cs.template_id,
                        "state": cs.state,
                        "customer_name": cs.customer_name,
                        "language": cs.language,
                        "topic": cs.topic,
                        "context": cs.context,
                        "position": self.state.position(cs.id),
                        "enqueued_at": as_utc(cs.enqueued_at).isoformat(),
                        "offered_to": offer.operator_id if offer else None,
                        "offer_expires_at": offer.expires_at.isoformat() if offer else None,
                    }
                )
            return rows

    @staticmethod
    def _operator_name(db: Session, cs: CareSession) -> str | None:
        account = db.get(OperatorAccount, cs.operator_id) if cs.operator_id else None
        return account.name if account else None

    def wait_status(self, session_id: str) -> WaitStatus:
        now = self.clock.now()
        with self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None:
                raise NotFound(f"no session {session_id}")
            if cs.state not in WAITING_STATES:
                # Connected or over: the queue's state has nothing to say, so it is not held (pages
                # ask this after every chat message; they queued on the lock behind each other).
                return WaitStatus(cs.id, cs.state, None, None, False, self._operator_name(db, cs))
        with self.state.held(), self.sessions() as db:
            cs = db.get(CareSession, session_id)
            assert cs is not None
            template = db.get(RoomTemplate, cs.template_id)
            assert template is not None
            operator_name = self._operator_name(db, cs)
            if cs.state not in WAITING_STATES:
                return WaitStatus(cs.id, cs.state, None, None, False, operator_name)
            position = self.state.position(cs.id)
            at_work = [
                op
                for op in self.state.eligible(self.state.customer(cs.id))
                if op.presence in (Presence.AVAILABLE, Presence.BUSY)
            ]
            estimate = self.estimator.estimate_s(cs.template_id, position, sum(op.capacity for op in at_work))
            waited = (now - as_utc(cs.enqueued_at)).total_seconds()
            hours = business_hours(template)
            closed = hours is not None and not hours.is_open(now)
            long_wait = estimate is None or waited >= template.max_wait_s or estimate > template.max_wait_s
            return WaitStatus(cs.id, cs.state, position, estimate, long_wait or closed, operator_name)
