"""After-call work: once a consultation ends its operator is offered nobody for the room template's
time box, and, where the brand requires a wrap-up code, until the code is given (the rule itself is
``rooms.routing.Operator.after_call``). The code, when it was given and the time box are kept on the
consultation, so the figures count codes and after-call time (``rooms.figures``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from rooms.clock import Clock, as_utc
from rooms.desk.listeners import Listeners
from rooms.desk.queue_state import QueueState
from rooms.desk.records import add_event
from rooms.errors import Conflict, Forbidden, Invalid, NotFound
from rooms.models import CareSession, RoomTemplate


@dataclass(frozen=True)
class AfterCallItem:
    """One ended consultation whose after-call work is running, as the operator's console shows it."""

    session_id: str
    customer_name: str
    until: datetime
    required: bool
    codes: tuple[str, ...]


@dataclass(eq=False)
class AfterCall:
    sessions: sessionmaker[Session]
    clock: Clock
    state: QueueState
    listeners: Listeners
    tick: Callable[[], object]  # the queue's decision, when an operator is free again

    def wrap_up(self, session_id: str, operator_id: str, code: str | None) -> CareSession:
        """The operator's wrap-up of an ended consultation: its code (one of the room's; None where
        none is required) ends its after-call work now. Given once."""
        now = self.clock.now()
        with self.state.held(), self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None:
                raise NotFound(f"no session {session_id}")
            if cs.operator_id != operator_id:
                raise Forbidden(f"session {session_id} is another operator's")
            if cs.state != "ended":
                raise Conflict(f"session {session_id} is {cs.state}: wrap-up comes after the end")
            if cs.wrapped_up_at is not None:
                raise Conflict(f"session {session_id} is wrapped up already")
            template = db.get(RoomTemplate, cs.template_id)
            codes = list(template.wrap_up_codes) if template is not None else []
            if code is None and cs.wrap_up_required:
                raise Invalid(f"a wrap-up code is required: one of {', '.join(codes)}")
            if code is not None and code not in codes:
                raise Invalid(f"{code!r} is not a wrap-up code of this room")
            cs.wrap_up_code = code
            cs.wrapped_up_at = now
            add_event(db, cs, "wrapped_up", {"operator": operator_id, "code": code}, now)
            db.commit()
            self.state.wrap_up(operator_id, session_id)
            brand_id = cs.brand_id
        self.tick()  # free again: the next customer is offered at once
        self.listeners.changed(brand_id)
        return cs

    def running(self, db: Session, operator_id: str) -> list[AfterCallItem]:
        """The operator's ended consultations whose after-call work is still running."""
        op = self.state.operator(operator_id)
        if op is None or not op.after_call:
            return []
        now = self.clock.now()
        items = []
        for session_id, (until, required) in sorted(op.after_call.items(), key=lambda item: item[1][0]):
            if not required and until <= now:
                continue  # lapsed: routing forgets it at its next dispatch
            cs = db.get(CareSession, session_id)
            if cs is None:
                continue
            template = db.get(RoomTemplate, cs.template_id)
            codes = tuple(template.wrap_up_codes) if template is not None else ()
            items.append(AfterCallItem(session_id, cs.customer_name, as_utc(until), required, codes))
        return items
