"""The care desk: customers' sessions from the queue to the survey, one object for the routes.

It holds no rules of its own: it builds its parts (the modules of ``rooms.desk``) around one queue
state, one wait estimator and one set of listeners, and hands each call to the part that does it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from rooms.clock import Clock
from rooms.desk.after_call import AfterCall, AfterCallItem
from rooms.desk.consults import ConsultMessage, Consults
from rooms.desk.contact_requests import ContactRequests
from rooms.desk.in_session import InSession
from rooms.desk.listeners import Listeners
from rooms.desk.pg_queue_state import PostgresQueueState
from rooms.desk.queue import Queue
from rooms.desk.queue_state import InMemoryQueueState, QueueState
from rooms.desk.records import ChatPosted, Customer, WaitStatus
from rooms.desk.restore import learn_handle_times, restore
from rooms.desk.retention import apply_retention, purge_transcripts
from rooms.desk.views import DeskViews
from rooms.join_tokens import OneTimeId
from rooms.models import (
    CareSession,
    ChatMessage,
    ContactRequest,
    OperatorAccount,
    ProblemReport,
    RoomTemplate,
    SessionEvent,
    SurveyAnswer,
)
from rooms.routing import Presence
from rooms.seating import RoomInfo, SeatFreed
from rooms.wait import WaitEstimator


class CareDesk:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        accept_timeout: timedelta = timedelta(seconds=20),
        state: QueueState | None = None,
        *,
        rebuild: bool = True,
    ) -> None:
        """``rebuild``: the queue's state is made again from the database (see :meth:`load`); False
        when other server processes already run this database's queue and must not lose it."""
        self.sessions = sessions
        self._clock = clock
        #: the queue's state: unless another is given, in PostgreSQL's tables when the database is
        #: PostgreSQL (shared by every process on it), in this process's memory otherwise
        self.state: QueueState = state if state is not None else default_state(sessions, accept_timeout)
        self.estimator = WaitEstimator()
        self._told = Listeners()
        #: called with a brand id after anything in that brand's queue or sessions changed, and the ids
        #: (sessions, operators) the change is about, or None when it may concern anyone in the brand
        self.listeners: list[Callable[[int, frozenset[str] | None], None]] = self._told.queue
        #: called after a customer left a live room (ended, transferred): the live side lets them go
        self.seat_listeners: list[Callable[[SeatFreed], None]] = self._told.seats
        #: called with each chat message once it is stored, in the order of their ids (from the thread
        #: that wrote it): the pages are sent the message, not their whole view again
        self.chat_listeners: list[Callable[[ChatPosted], None]] = self._told.chat
        self._queue = Queue(sessions, clock, self.state, self.estimator, self._told)
        self._in_session = InSession(sessions, clock, self._told)
        self._contact = ContactRequests(sessions, clock, self._queue, self._told)
        self._views = DeskViews(sessions, clock, self.state, self.estimator)
        self._after_call = AfterCall(sessions, clock, self.state, self._told, self._queue.tick)
        self._consults = Consults(sessions, clock, self.state, self._told, self._queue.tick)
        #: where the recordings' files are (the server sets it: the data directory's recordings/)
        self.recordings_dir: Path | None = None
        if rebuild:
            self.load()
        else:
            learn_handle_times(sessions, self.estimator)

    @property
    def clock(self) -> Clock:
        return self._clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        """Another clock for every part (the tests run an application's desk on a manual clock)."""
        self._clock = clock
        for part in (
            self._queue,
            self._in_session,
            self._contact,
            self._views,
            self._after_call,
            self._consults,
        ):
            part.clock = clock

    def load(self) -> None:
        """Rebuild the queue's state from the database (at start-up, after a restart)."""
        restore(self.sessions, self.clock, self.state, self.estimator)

    @property
    def routes_here(self) -> Callable[[], bool]:
        """Whether this process makes routing decisions (offers, missed offers) now; always, unless
        the server hands routing to one elected process (``rooms.desk.election``)."""
        return self._queue.routes_here

    @routes_here.setter
    def routes_here(self, check: Callable[[], bool]) -> None:
        self._queue.routes_here = check

    def tell(self, brand_id: int, about: frozenset[str] | None = None) -> None:
        """Tell this desk's listeners of a change made elsewhere (another server process on the
        database, ``rooms.desk.peers``), as if it had been made here."""
        self._told.changed(brand_id, about)

    def tell_chat(self, event: ChatPosted) -> None:
        """A chat message stored by another process (``rooms.desk.peers``): this one's pages get it."""
        self._told.chat_posted(event)

    def tell_seat(self, event: SeatFreed) -> None:
        """Tell this desk's seat listeners of a seat freed elsewhere (another server process)."""
        self._told.seat_freed(event)

    # -- operators ---------------------------------------------------------------------------
    def operator_changed(self, account: OperatorAccount) -> None:
        self._queue.operator_changed(account)

    def remove_operator(self, operator_id: str) -> None:
        self._queue.remove_operator(operator_id)

    def set_presence(self, operator_id: str, presence: Presence) -> None:
        self._queue.set_presence(operator_id, presence)

    def presence(self, operator_id: str) -> Presence:
        return self._queue.presence(operator_id)

    # -- the queue ---------------------------------------------------------------------------
    def join(
        self, template: RoomTemplate, customer: Customer, one_time: OneTimeId | None = None
    ) -> tuple[CareSession, str]:
        return self._queue.join(template, customer, one_time)

    def abandon(self, session_id: str, reason: str = "customer left") -> None:
        self._queue.abandon(session_id, reason)

    def tick(self) -> list[str]:
        return self._queue.tick()

    def offers_for(self, operator_id: str) -> list[str]:
        return self._queue.offers_for(operator_id)

    def accept(self, session_id: str, operator_id: str) -> CareSession:
        return self._queue.accept(session_id, operator_id)

    def decline(self, session_id: str, operator_id: str) -> None:
        self._queue.decline(session_id, operator_id)

    def transfer(
        self,
        session_id: str,
        operator_id: str,
        *,
        to_operator: str | None = None,
        skills: list[str] | None = None,
        to_template: str | None = None,
    ) -> None:
        self._queue.transfer(
            session_id, operator_id, to_operator=to_operator, skills=skills, to_template=to_template
        )

    # -- warm transfers (a consult first, then the hand-over) ---------------------------------
    def consult(self, session_id: str, operator_id: str, colleague_id: str) -> None:
        self._consults.invite(session_id, operator_id, colleague_id)

    def answer_consult(self, session_id: str, colleague_id: str, accept: bool) -> None:
        self._consults.answer(session_id, colleague_id, accept)

    def consult_message(self, session_id: str, sender_id: str, text: str) -> None:
        self._consults.message(session_id, sender_id, text)

    def cancel_consult(self, session_id: str, operator_id: str) -> None:
        self._consults.cancel(session_id, operator_id)

    def hand_over(self, session_id: str, operator_id: str) -> CareSession:
        return self._consults.hand_over(session_id, operator_id)

    def consult_messages(self, db: Session, session_id: str) -> list[ConsultMessage]:
        return self._consults.messages(db, session_id)

    # -- after-call work ---------------------------------------------------------------------
    def wrap_up(self, session_id: str, operator_id: str, code: str | None) -> CareSession:
        return self._after_call.wrap_up(session_id, operator_id, code)

    def after_call(self, db: Session, operator_id: str) -> list[AfterCallItem]:
        return self._after_call.running(db, operator_id)

    def end(self, session_id: str, operator_id: str | None = None) -> CareSession:
        return self._queue.end(session_id, operator_id)

    def live_room(self, room_id: str) -> RoomInfo | None:
        return self._queue.live_room(room_id)

    # -- what operators and customers see ----------------------------------------------------
    def queue(self, brand_id: int) -> list[dict[str, Any]]:
        return self._views.queue_rows(brand_id)

    def status(self, session_id: str) -> WaitStatus:
        return self._views.wait_status(session_id)

    # -- contact requests --------------------------------------------------------------------
    def contact_request(
        self,
        template: RoomTemplate,
        kind: str,
        contact: str,
        text: str,
        callback_at: datetime | None,
        session_id: str | None = None,
        customer_ref: str | None = None,
    ) -> ContactRequest:
        return self._contact.leave(template, kind, contact, text, callback_at, session_id, customer_ref)

    def contact_requests(self, brand_id: int, status: str = "open") -> list[ContactRequest]:
        return self._contact.of_brand(brand_id, status)

    def close_contact_request(self, brand_id: int, request_id: int) -> None:
        self._contact.close(brand_id, request_id)

    # -- in the session ----------------------------------------------------------------------
    def session_for_access(self, token: str) -> CareSession | None:
        return self._in_session.session_for_access(token)

    def get_session(self, db: Session, brand_id: int, session_id: str) -> CareSession:
        return self._in_session.get_session(db, brand_id, session_id)

    def session_brand(self, session_id: str) -> int:
        return self._in_session.session_brand(session_id)

    def chat(self, session_id: str, sender: str, text: str) -> ChatMessage:
        return self._in_session.chat(session_id, sender, text)

    def transcript(self, session_id: str) -> list[ChatMessage]:
        return self._in_session.transcript(session_id)

    def events(self, session_id: str) -> list[SessionEvent]:
        return self._in_session.events(session_id)

    def record_event(self, session_id: str, kind: str, detail: dict[str, Any]) -> None:
        self._in_session.record_event(session_id, kind, detail)

    def listening_granted(self, supervisor_id: str, session_ids: tuple[str, ...]) -> bool:
        return self._in_session.listening_granted(supervisor_id, session_ids)

    def supervision_granted(self, supervisor_id: str, session_ids: tuple[str, ...], grant: str) -> bool:
        return self._in_session.supervision_granted(supervisor_id, session_ids, grant)

    def set_notes(self, session_id: str, operator_id: str, notes: str) -> None:
        self._in_session.set_notes(session_id, operator_id, notes)

    def report_problem(self, session_id: str, text: str) -> ProblemReport:
        return self._in_session.report_problem(session_id, text)

    def survey(self, session_id: str, csat: int, comment: str) -> SurveyAnswer:
        return self._in_session.survey(session_id, csat, comment)

    def has_survey(self, session_id: str) -> bool:
        return self._in_session.has_survey(session_id)

    # -- retention ---------------------------------------------------------------------------
    def purge_transcripts(self) -> int:
        return purge_transcripts(self.sessions, self.clock.now())

    def customer_data_erased(self, brand_id: int) -> None:
        """After an erasure (``rooms.data_rights``): the brand's pages drop the requests that went."""
        self._told.changed(brand_id)

    def apply_retention(self) -> tuple[int, int]:
        """Chat messages deleted and consultations erased as their templates say (recordings
        too, where :attr:`recordings_dir` is set)."""
        return apply_retention(self.sessions, self.clock.now(), self.recordings_dir)


def default_state(sessions: sessionmaker[Session], accept_timeout: timedelta) -> QueueState:
    """The queue's state for the sessions' database: its tables on PostgreSQL, memory otherwise."""
    bind = sessions.kw.get("bind")
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        return PostgresQueueState(bind, accept_timeout)
    return InMemoryQueueState(accept_timeout)
