"""Messages and callback requests a customer leaves instead of waiting, and the brand's list of them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rooms.clock import Clock
from rooms.desk.listeners import Listeners
from rooms.desk.queue import Queue
from rooms.desk.records import WAITING_STATES
from rooms.errors import Invalid, NotFound
from rooms.models import CareSession, ContactRequest, RoomTemplate


class ContactRequests:
    def __init__(
        self, sessions: sessionmaker[Session], clock: Clock, queue: Queue, listeners: Listeners
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.queue = queue
        self.listeners = listeners

    def leave(
        self,
        template: RoomTemplate,
        kind: str,
        contact: str,
        text: str,
        callback_at: datetime | None,
        session_id: str | None = None,
        customer_ref: str | None = None,
    ) -> ContactRequest:
        """A message or a callback request, committed before it is acknowledged; leaving the queue too."""
        now = self.clock.now()
        if kind not in ("message", "callback"):
            raise Invalid("kind must be message or callback")
        if not contact.strip():
            raise Invalid("say how to reach you (an e-mail address or a phone number)")
        if kind == "callback":
            if callback_at is None:
                raise Invalid("a callback needs a time")
            if callback_at.tzinfo is None:
                raise Invalid("the callback time needs a time zone")
            if callback_at <= now:
                raise Invalid("the callback time is in the past")
        elif not text.strip():
            raise Invalid("the message is empty")
        with self.queue.state.held(), self.sessions() as db:
            request = ContactRequest(
                brand_id=template.brand_id,
                template_id=template.id,
                session_id=session_id,
                customer_ref=customer_ref,
                kind=kind,
                contact=contact.strip(),
                text=text,
                callback_at=callback_at,
                created_at=now,
            )
            db.add(request)
            cs = db.get(CareSession, session_id) if session_id is not None else None
            if cs is not None and cs.state in WAITING_STATES:
                self.queue.leave_queue(db, cs, f"left a {kind}", now)  # the request commits with it
            else:
                db.commit()
        self.listeners.changed(template.brand_id)
        return request

    def of_brand(self, brand_id: int, status: str = "open") -> list[ContactRequest]:
        with self.sessions() as db:
            return list(
                db.scalars(
                    select(ContactRequest)
                    .where(ContactRequest.brand_id == brand_id, ContactRequest.status == status)
                    .order_by(
                        ContactRequest.callback_at.is_(None), ContactRequest.callback_at, ContactRequest.id
                    )
                )
            )

    def close(self, brand_id: int, request_id: int) -> None:
        with self.sessions() as db:
            request = db.get(ContactRequest, request_id)
            if request is None or request.brand_id != brand_id:
                raise NotFound(f"no contact request {request_id}")
            request.status = "done"
            db.commit()
        self.listeners.changed(brand_id)
