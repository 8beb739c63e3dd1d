"""The work inside a session, which the queue's state has no part in: chat, transcript, events,
notes, problem reports, the survey, and finding a session by its access token."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rooms.clock import Clock
from rooms.db import commit_first_wins
from rooms.desk.listeners import Listeners
from rooms.desk.records import ChatPosted, access_hash, add_event
from rooms.errors import Conflict, Invalid, NotFound
from rooms.group_commit import GroupCommit
from rooms.models import CareSession, ChatMessage, ProblemReport, SessionEvent, SurveyAnswer


class InSession:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock, listeners: Listeners) -> None:
        self.sessions = sessions
        self.clock = clock
        self.listeners = listeners
        self._chat_writes = GroupCommit(self._write_chat)

    def session_for_access(self, token: str) -> CareSession | None:
        with self.sessions() as db:
            return db.scalar(select(CareSession).where(CareSession.access_hash == access_hash(token)))

    @staticmethod
    def get_session(db: Session, brand_id: int, session_id: str) -> CareSession:
        cs = db.get(CareSession, session_id)
        if cs is None or cs.brand_id != brand_id:
            raise NotFound(f"no session {session_id}")
        return cs

    def session_brand(self, session_id: str) -> int:
        with self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None:
                raise NotFound(f"no session {session_id}")
            return cs.brand_id

    def chat(self, session_id: str, sender: str, text: str) -> ChatMessage:
        text = text.strip()
        if not text:
            raise Invalid("the message is empty")
        if len(text) > 4000:
            raise Invalid("a message holds at most 4000 characters")
        # Messages sent at once share a commit (rooms.group_commit): chat is the busiest write. Who
        # shows the chat hears of the message from the writer (listeners.chat), as the message alone:
        # rebuilding the pages' whole views for every message made their work grow with the transcript.
        return self._chat_writes.submit(
            ChatMessage(session_id=session_id, sender=sender, text=text, at=self.clock.now())
        )

    def _write_chat(self, messages: Sequence[ChatMessage]) -> list[ChatMessage | Exception]:
        """One transaction for a batch of messages; each is refused alone if its session is not
        connected (the others are kept). After the commit the chat listeners hear of each stored
        message in the order of their ids; batches are written one at a time, so across batches too."""
        outcomes: list[ChatMessage | Exception] = []
        stored: list[tuple[ChatMessage, int, str | None]] = []
        with self.sessions() as db:
            ids = {m.session_id for m in messages}
            # rows, not ORM objects: this runs for every batch of the busiest write
            found = {
                row.id: row
                for row in db.execute(
                    select(
                        CareSession.id, CareSession.state, CareSession.brand_id, CareSession.operator_id
                    ).where(CareSession.id.in_(ids))
                )
            }
            for message in messages:
                cs = found.get(message.session_id)
                if cs is None:
                    outcomes.append(NotFound(f"no session {message.session_id}"))
                elif cs.state != "connected":
                    outcomes.append(Conflict(f"session {cs.id} is {cs.state}: chat is open while connected"))
                else:
                    db.add(message)
                    outcomes.append(message)
                    stored.append((message, cs.brand_id, cs.operator_id))
            db.commit()
        posted = [
            ChatPosted(brand_id, m.session_id, operator_id, m.id, m.sender, m.text, m.at)
            for m, brand_id, operator_id in stored
        ]
        for event in sorted(posted, key=lambda e: e.id):
            self.listeners.chat_posted(event)
        return outcomes

    def transcript(self, session_id: str) -> list[ChatMessage]:
        with self.sessions() as db:
            return list(
                db.scalars(
                    select(ChatMessage).where(ChatMessage.session_id == session_id).order_by(ChatMessage.id)
                )
            )

    def events(self, session_id: str) -> list[SessionEvent]:
        with self.sessions() as db:
            return list(
                db.scalars(
                    select(SessionEvent)
                    .where(SessionEvent.session_id == session_id)
                    .order_by(SessionEvent.id)
                )
            )

    def record_event(self, session_id: str, kind: str, detail: dict[str, Any]) -> None:
        """An event inside a session (a product shown, the cart changed), and tell who watches."""
        with self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None:
                raise NotFound(f"no session {session_id}")
            add_event(db, cs, kind, detail, self.clock.now())
            db.commit()
        self.listeners.changed(cs.brand_id)

    def listening_granted(self, supervisor_id: str, session_ids: tuple[str, ...]) -> bool:
        """Whether the supervisor asked to listen to one of these sessions (the recorded grant)."""
        return self.supervision_granted(supervisor_id, session_ids, "supervisor_listening")

    def supervision_granted(self, supervisor_id: str, session_ids: tuple[str, ...], grant: str) -> bool:
        """Whether the supervisor asked for a mode (the event ``grant``: listening, whispering,
        barging) in one of these sessions."""
        with self.sessions() as db:
            events = db.scalars(
                select(SessionEvent).where(
                    SessionEvent.session_id.in_(session_ids), SessionEvent.kind == grant
                )
            )
            return any(e.detail.get("supervisor") == supervisor_id for e in events)

    def set_notes(self, session_id: str, operator_id: str, notes: str) -> None:
        with self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None or cs.operator_id != operator_id:
                raise NotFound(f"no session {session_id} of yours")
            cs.notes = notes
            db.commit()

    def report_problem(self, session_id: str, text: str) -> ProblemReport:
        if not text.strip():
            raise Invalid("describe the problem")
        with self.sessions() as db:
            report = ProblemReport(session_id=session_id, text=text.strip(), at=self.clock.now())
            db.add(report)
            db.commit()
            return report

    def survey(self, session_id: str, csat: int, comment: str) -> SurveyAnswer:
        if not 1 <= csat <= 5:
            raise Invalid("the rating goes from 1 to 5")
        with self.sessions() as db:
            cs = db.get(CareSession, session_id)
            if cs is None:
                raise NotFound(f"no session {session_id}")
            if cs.state != "ended":
                raise Conflict("the survey opens when the consultation has ended")
            if db.get(SurveyAnswer, session_id) is not None:
                raise Conflict("this consultation has already been rated")
            answer = SurveyAnswer(
                session_id=session_id, csat=csat, comment=comment.strip(), at=self.clock.now()
            )
            db.add(answer)
            if not commit_first_wins(db):  # sent twice at once: the first one counts
                raise Conflict("this consultation has already been rated")
        self.listeners.changed(cs.brand_id)
        return answer

    def has_survey(self, session_id: str) -> bool:
        with self.sessions() as db:
            return db.get(SurveyAnswer, session_id) is not None
