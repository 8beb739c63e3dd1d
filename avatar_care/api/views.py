"""What the pages are shown, built from the desk and the database: the customer's page, the operator's
session panel and the console's queue panel. The routes (HTTP and the queue's sockets) both answer with
these, so they live here rather than in one route module another imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from rooms.avatars import template_avatar_url
from rooms.catalogue import cart
from rooms.clock import as_utc
from rooms.desk import CareDesk
from rooms.errors import NotFound
from rooms.models import CareSession, ChatMessage, OperatorAccount, SessionEvent, SurveyAnswer
from rooms.recordings import recording_view


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
    #: for supervisors: the brand's connected consultations they may listen to
    listenable: list[dict[str, Any]] = []


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
                "recording": recording_view(db, cs),
            }
            for cs in mine
        ]
        listenable = _listenable(db, operator.brand_id) if operator.role == "supervisor" else []
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
        }
        for cs, name in rows
    ]
