"""The operator console's queue panel: waiting customers, offers, own sessions, messages and callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from avatar_care.api.deps import CurrentOperator, DeskDep, SessionDep
from avatar_care.api.input_policy import RowId
from rooms.avatars import template_avatar_url
from rooms.clock import as_utc
from rooms.desk import CareDesk
from rooms.models import CareSession, ChatMessage, OperatorAccount

router = APIRouter(prefix="/api/queue", tags=["queue"])


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
        # every transcript in one query: the panel's socket rebuilds this view as its customers chat
        chats: dict[str, list[dict[str, str]]] = {cs.id: [] for cs in mine}
        # (rows, not ORM objects: building an object per message cost most of the view's time)
        for session_id, sender, text, at in db.execute(
            select(ChatMessage.session_id, ChatMessage.sender, ChatMessage.text, ChatMessage.at)
            .where(ChatMessage.session_id.in_(chats))
            .order_by(ChatMessage.id)
        ):
            chats[session_id].append({"sender": sender, "text": text, "at": as_utc(at).isoformat()})
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


@router.get("", response_model=QueueView)
def view(operator: CurrentOperator, desk: DeskDep) -> QueueView:
    return queue_view(desk, operator)


@router.post("/{session_id}/accept")
def accept(session_id: str, operator: CurrentOperator, desk: DeskDep, db: SessionDep) -> dict[str, str]:
    desk.get_session(db, operator.brand_id, session_id)  # another brand's session: 404
    cs = desk.accept(session_id, operator.id)
    return {"session_id": cs.id, "state": cs.state}


@router.post("/{session_id}/decline")
def decline(session_id: str, operator: CurrentOperator, desk: DeskDep, db: SessionDep) -> dict[str, str]:
    desk.get_session(db, operator.brand_id, session_id)
    desk.decline(session_id, operator.id)
    return {"session_id": session_id, "state": "queued"}


@router.post("/contact-requests/{request_id}/done")
def contact_done(request_id: RowId, operator: CurrentOperator, desk: DeskDep) -> dict[str, str]:
    desk.close_contact_request(operator.brand_id, request_id)
    return {"status": "done"}
