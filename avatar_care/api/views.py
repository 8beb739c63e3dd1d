"""What the pages are shown, built from the desk and the database: the customer's page, the operator's
session panel and the console's queue panel. The routes (HTTP and the queue's sockets) both answer with
these, so they live here rather than in one route module another imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from avatar_care.live.roles import spec
from rooms.avatars import template_avatar_url
from rooms.catalogue import cart
from rooms.clock import as_utc
from rooms.desk import CareDesk
from rooms.errors import NotFound
from rooms.models import (
    CareSession,
    ChatMessage,
    OperatorAccount,
    RoomTemplate,
    SessionEvent,
    SurveyAnswer,
)
from rooms.recordings import recording_view
from rooms.supervision import present_supervision, told_supervision
from rooms.templates import room_look


def session_detail(desk: CareDesk, db: Session, cs: CareSession) -> dict[str, Any]:
    shown = [e.detail for e in desk.events(cs.id) if e.kind == "product_shown"]
    return {
        "session_id": cs.id,
        "state": cs.state,
        "customer_name": cs.customer_name,
        "language": cs.language,
        "topic": cs.topic,
        "context": cs.context,
        "notes": cs.notes,
        "chat": [
            {"id": m.id, "sender": m.sender, "text": m.text, "at": as_utc(m.at).isoformat()}
            for m in desk.transcript(cs.id)
        ],
        "shown": shown[-1] if shown else None,
        "cart": cart(db, cs.id),
        "events": [
            {"kind": e.kind, "at": as_utc(e.at).isoformat(), "detail": e.detail} for e in desk.events(cs.id)
        ],
        "recording": recording_view(db, cs),
    }


def customer_view(desk: CareDesk, db: Session, session_id: str) -> dict[str, Any]:
    """What the customer's page shows (its queue socket's snapshot; new chat messages reach the page
    alone, ``avatar_care.api.routes.queue_ws``). It reads each thing once, in the caller's database
    session."""
    s = desk.status(session_id)
    cs = db.get(CareSession, session_id)
    if cs is None:
        raise NotFound(f"no session {session_id}")
    shown = db.scalar(
        select(SessionEvent.detail)
        .where(SessionEvent.session_id == session_id, SessionEvent.kind == "product_shown")
        .order_by(SessionEvent.id.desc())
        .limit(1)
    )
    chat = db.execute(  # rows, not ORM objects: cheaper by far for a long transcript
        select(ChatMessage.id, ChatMessage.sender, ChatMessage.text, ChatMessage.at)
        .where(ChatMessage.session_id == session_id)
        .order_by(ChatMessage.id)
    )
    return {
        "session_id": session_id,
        "template_id": cs.template_id,
        "state": s.state,
        "position": s.position,
        "estimated_wait_s": s.estimated_wait_s,
        "may_leave_message": s.may_leave_message,
        "operator_name": s.operator_name,
        "chat": [
            {"id": id_, "sender": sender, "text": text, "at": as_utc(at).isoformat()}
            for id_, sender, text, at in chat
        ],
        "shown": shown,
        "cart": cart(db, cs.id),
        "rated": db.get(SurveyAnswer, session_id) is not None,
        # the room as its brand configured it: scene, colour, logo, greeting (from joining on)
        "room": room_look(template) if (template := db.get(RoomTemplate, cs.template_id)) else None,
        # the supervisors' modes the customer is told of (rooms.supervision): "barger", and
        # "listener" where the brand tells of listening
        "supervision": told_supervision(db, session_id) if s.state == "connected" else [],
        # the template's recording mode, the customer's answer, whether it records now (paused?)
        "recording": recording_view(db, cs),
        # while connected: the live room to join with this session's own token (signaling)
        "live_room": (
            {"id": cs.live_room_id, "avatar_url": template_avatar_url(db, cs.template_id)}
            if s.state == "connected" and cs.live_room_id
            else None
        ),
    }


class ContactOut(BaseModel):
    id: int
    template_id: str
    kind: str
    contact: str
    text: str
    callback_at: datetime | None
    created_at: datetime


class QueueView(BaseModel):
    presence: str
    waiting: list[dict[str, Any]]
    offers: list[str]
    sessions: list[dict[str, Any]]
    contact_requests: list[ContactOut]
    #: for supervisors: the brand's connected consultations they may listen to, whisper or barge in
    listenable: list[dict[str, Any]] = []
    #: consults colleagues asked of this operator (warm transfers in preparation)
    consults: list[dict[str, Any]] = []
    #: this operator's ended consultations whose after-call work is running (wrap-up)
    after_call: list[dict[str, Any]] = []
    #: where a consultation may be transferred: the brand's other operators and its room templates
    colleagues: list[dict[str, Any]] = []
    templates: list[dict[str, Any]] = []
    #: for supervisors: the brand's operators, their presence and consultations now
    operators: list[dict[str, Any]] = []


def queue_view(desk: CareDesk, operator: OperatorAccount) -> QueueView:
    with desk.sessions() as db:
        mine = list(
            db.scalars(
                select(CareSession).where(
                    CareSession.operator_id == operator.id, CareSession.state == "connected"
                )
            )
        )
        # one look-up per room template, not per consultation
        avatar_urls = {t: template_avatar_url(db, t) for t in {cs.template_id for cs in mine}}
        # every transcript in one query (the panel's socket builds this view on every other change)
        chats: dict[str, list[dict[str, Any]]] = {cs.id: [] for cs in mine}
        # (rows, not ORM objects: building an object per message cost most of the view's time)
        for session_id, id_, sender, text, at in db.execute(
            select(
                ChatMessage.session_id, ChatMessage.id, ChatMessage.sender, ChatMessage.text, ChatMessage.at
            )
            .where(ChatMessage.session_id.in_(chats))
            .order_by(ChatMessage.id)
        ):
            chats[session_id].append(
                {"id": id_, "sender": sender, "text": text, "at": as_utc(at).isoformat()}
            )
        staff = {
            account.id: account
            for account in db.scalars(
                select(OperatorAccount).where(
                    OperatorAccount.brand_id == operator.brand_id,
                    OperatorAccount.role != "admin",
                    OperatorAccount.disabled.is_(False),
                )
            )
        }

        def consult_of(cs: CareSession) -> dict[str, Any] | None:
            if cs.consult_with is None:
                return None
            return {
                "with": cs.consult_with,
                "with_name": staff[cs.consult_with].name if cs.consult_with in staff else "",
                "accepted": cs.consult_accepted,
                "messages": [m.__dict__ for m in desk.consult_messages(db, cs.id)],
            }

        sessions = [
            {
                "session_id": cs.id,
                "customer_name": cs.customer_name,
                "language": cs.language,
                "topic": cs.topic,
                "context": cs.context,
                "notes": cs.notes,
                "connected_at": as_utc(cs.connected_at).isoformat() if cs.connected_at else None,
                # customers of a shared room have the same one: the console goes live there once
                "live_room_id": cs.live_room_id,
                "avatar_url": avatar_urls[cs.template_id],
                "chat": chats[cs.id],
                "template_id": cs.template_id,
                "consult": consult_of(cs),
                # the supervisors the operator hears (whispering or barging in), for the console
                "supervision": [m for m in present_supervision(db, cs.id) if spec(m).sends_voice],
                "recording": recording_view(db, cs),
            }
            for cs in mine
        ]
        asked = db.scalars(
            select(CareSession).where(
                CareSession.consult_with == operator.id, CareSession.state == "connected"
            )
        )
        consults = [
            {
                "session_id": cs.id,
                "customer_name": cs.customer_name,
                "topic": cs.topic,
                "from_name": staff[cs.operator_id].name if cs.operator_id in staff else "",
                **(consult_of(cs) or {}),
            }
            for cs in asked
        ]
        after_call = [
            {**item.__dict__, "until": item.until.isoformat(), "codes": list(item.codes)}
            for item in desk.after_call(db, operator.id)
        ]
        colleagues = [
            {"id": a.id, "name": a.name, "presence": desk.presence(a.id).value}
            for a in sorted(staff.values(), key=lambda a: a.name)
            if a.id != operator.id
        ]
        templates = [
            {"id": t.id, "name": t.name}
            for t in db.scalars(
                select(RoomTemplate)
                .where(RoomTemplate.brand_id == operator.brand_id)
                .order_by(RoomTemplate.created_at)
            )
        ]
        supervising = operator.role == "supervisor"
        listenable = _listenable(db, operator.brand_id) if supervising else []
        operators = _operator_states(desk, db, operator.brand_id, listenable) if supervising else []
    return QueueView(
        presence=desk.presence(operator.id).value,
        waiting=desk.queue(operator.brand_id),
        offers=desk.offers_for(operator.id),
        sessions=sessions,
        contact_requests=[
            ContactOut(
                id=r.id,
                template_id=r.template_id,
                kind=r.kind,
                contact=r.contact,
                text=r.text,
                callback_at=as_utc(r.callback_at) if r.callback_at else None,
                created_at=as_utc(r.created_at),
            )
            for r in desk.contact_requests(operator.brand_id)
        ],
        listenable=listenable,
        consults=consults,
        after_call=after_call,
        colleagues=colleagues,
        templates=templates,
        operators=operators,
    )


def _listenable(db: Session, brand_id: int) -> list[dict[str, Any]]:
    rows = db.execute(
        select(CareSession, OperatorAccount.name)
        .join(OperatorAccount, OperatorAccount.id == CareSession.operator_id)
        .where(CareSession.brand_id == brand_id, CareSession.state == "connected")
        .order_by(CareSession.connected_at)
    )
    return [
        {
            "session_id": cs.id,
            "customer_name": cs.customer_name,
            "operator_name": name,
            "live_room_id": cs.live_room_id,
            "operator_id": cs.operator_id,
            "connected_at": as_utc(cs.connected_at).isoformat() if cs.connected_at else None,
        }
        for cs, name in rows
    ]


def _operator_states(
    desk: CareDesk, db: Session, brand_id: int, connected: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The brand's operators (supervisors too: they take consultations as well), each with their
    presence and how many consultations they are in now; disabled accounts are left out."""
    accounts = db.scalars(
        select(OperatorAccount)
        .where(OperatorAccount.brand_id == brand_id, OperatorAccount.disabled.is_(False))
        .where(OperatorAccount.role.in_(("operator", "supervisor")))
        .order_by(OperatorAccount.name)
    )
    return [
        {
            "operator_id": a.id,
            "name": a.name,
            "role": a.role,
            "presence": desk.presence(a.id).value,
            "consultations": sum(1 for row in connected if row["operator_id"] == a.id),
        }
        for a in accounts
    ]
