"""What the operator does inside a session: chat, notes, products, cart, transfers (cold, and warm
after a consult with a colleague), end, and the wrap-up after it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from avatar_care.api.deps import CurrentOperator, CurrentSupervisor, DeskDep, SessionDep
from avatar_care.api.views import session_detail
from avatar_care.live.roles import ROLES, Role
from rooms.catalogue import brand_item, cart, set_cart_line
from rooms.clock import as_utc
from rooms.errors import Conflict, Forbidden
from rooms.models import CareSession, OperatorAccount

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


class ChatIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class NotesIn(BaseModel):
    notes: str = Field(max_length=20000)


class TransferIn(BaseModel):
    to_operator: str | None = Field(default=None, max_length=32)
    skills: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=50
    )
    to_template: str | None = Field(default=None, max_length=32)


class ConsultIn(BaseModel):
    colleague_id: str = Field(min_length=1, max_length=32)


class ConsultAnswerIn(BaseModel):
    accept: bool


class WrapUpIn(BaseModel):
    code: str | None = Field(default=None, max_length=100)


class ShowIn(BaseModel):
    item_id: str


class CartIn(BaseModel):
    quantity: int = Field(ge=0, le=99)


def _own(db: SessionDep, desk: DeskDep, operator: OperatorAccount, session_id: str) -> CareSession:
    """The brand's session; only its operator may act on it, a supervisor may also read it."""
    return desk.get_session(db, operator.brand_id, session_id)


def _mine(cs: CareSession, operator: OperatorAccount) -> None:
    if cs.operator_id != operator.id:
        raise Forbidden(f"session {cs.id} is not yours")


@router.get("/{session_id}")
def read(session_id: str, operator: CurrentOperator, desk: DeskDep, db: SessionDep) -> dict[str, Any]:
    cs = _own(db, desk, operator, session_id)
    if operator.role != "supervisor":
        _mine(cs, operator)
    return session_detail(desk, db, cs)


@router.post("/{session_id}/chat", status_code=201)
def chat(
    session_id: str, body: ChatIn, operator: CurrentOperator, desk: DeskDep, db: SessionDep
) -> dict[str, str]:
    _mine(_own(db, desk, operator, session_id), operator)
    message = desk.chat(session_id, "operator", body.text)
    return {"text": message.text, "at": as_utc(message.at).isoformat()}


@router.put("/{session_id}/notes")
def notes(
    session_id: str, body: NotesIn, operator: CurrentOperator, desk: DeskDep, db: SessionDep
) -> dict[str, str]:
    _mine(_own(db, desk, operator, session_id), operator)
    desk.set_notes(session_id, operator.id, body.notes)
    return {"notes": body.notes}


@router.post("/{session_id}/transfer")
def transfer(
    session_id: str, body: TransferIn, operator: CurrentOperator, desk: DeskDep, db: SessionDep
) -> dict[str, str]:
    _own(db, desk, operator, session_id)
    desk.transfer(
        session_id,
        operator.id,
        to_operator=body.to_operator,
        skills=body.skills,
        to_template=body.to_template,
    )
    return {"session_id": session_id, "state": "transferred"}


@router.post("/{session_id}/consult", status_code=201)
def consult(
    session_id: str, body: ConsultIn, operator: CurrentOperator, desk: DeskDep, db: SessionDep
) -> dict[str, str]:
    """A warm transfer begins: the colleague is asked to consult about this customer."""
    _own(db, desk, operator, session_id)
    desk.consult(session_id, operator.id, body.colleague_id)
    return {"session_id": session_id, "consult_with": body.colleague_id}


@router.post("/{session_id}/consult/answer")
def answer_consult(
    session_id: str, body: ConsultAnswerIn, operator: CurrentOperator, desk: DeskDep, db: SessionDep
) -> dict[str, Any]:
    """The consulted colleague joins the consult or declines it."""
    _own(db, desk, operator, session_id)
    desk.answer_consult(session_id, operator.id, body.accept)
    return {"session_id": session_id, "accepted": body.accept}


@router.post("/{session_id}/consult/messages", status_code=201)
def consult_message(
    session_id: str, body: ChatIn, operator: CurrentOperator, desk: DeskDep, db: SessionDep
) -> dict[str, str]:
    """A message between the two operators of the consult; the customer does not see it."""
    _own(db, desk, operator, session_id)
    desk.consult_message(session_id, operator.id, body.text)
    return {"session_id": session_id}


@router.delete("/{session_id}/consult")
def cancel_consult(
    session_id: str, operator: CurrentOperator, desk: DeskDep, db: SessionDep
) -> dict[str, str]:
    _own(db, desk, operator, session_id)
    desk.cancel_consult(session_id, operator.id)
    return {"session_id": session_id}


@router.post("/{session_id}/hand-over")
def hand_over(session_id: str, operator: CurrentOperator, desk: DeskDep, db: SessionDep) -> dict[str, Any]:
    """The warm transfer: the customer moves to the consulted colleague's room, session unchanged."""
    _own(db, desk, operator, session_id)
    cs = desk.hand_over(session_id, operator.id)
    return {"session_id": cs.id, "state": cs.state, "operator_id": cs.operator_id}


@router.post("/{session_id}/wrap-up")
def wrap_up(
    session_id: str, body: WrapUpIn, operator: CurrentOperator, desk: DeskDep, db: SessionDep
) -> dict[str, Any]:
    """After the end: the wrap-up code (required or not, as the room says) ends the after-call work."""
    _own(db, desk, operator, session_id)
    cs = desk.wrap_up(session_id, operator.id, body.code)
    return {"session_id": cs.id, "code": cs.wrap_up_code}


@router.post("/{session_id}/end")
def end(session_id: str, operator: CurrentOperator, desk: DeskDep, db: SessionDep) -> dict[str, str]:
    _own(db, desk, operator, session_id)
    cs = desk.end(session_id, operator.id)
    return {"session_id": cs.id, "state": cs.state}


@router.post("/{session_id}/show")
def show(
    session_id: str, body: ShowIn, operator: CurrentOperator, desk: DeskDep, db: SessionDep
) -> dict[str, Any]:
    cs = _own(db, desk, operator, session_id)
    _mine(cs, operator)
    item = brand_item(db, cs.brand_id, body.item_id)
    detail = {
        "item_id": item.id,
        "name": item.name,
        "kind": item.kind,
        "media_url": item.media_url,
        "link": item.link,
        "price": item.price,
    }
    desk.record_event(session_id, "product_shown", detail)
    return detail


@router.put("/{session_id}/cart/{item_id}")
def put_cart(
    session_id: str, item_id: str, body: CartIn, operator: CurrentOperator, desk: DeskDep, db: SessionDep
) -> list[dict[str, Any]]:
    cs = _own(db, desk, operator, session_id)
    _mine(cs, operator)
    set_cart_line(db, cs, item_id, body.quantity)
    desk.record_event(session_id, "cart_changed", {"item_id": item_id, "quantity": body.quantity})
    return cart(db, cs.id)


@router.post("/{session_id}/listen")
def listen(session_id: str, supervisor: CurrentSupervisor, desk: DeskDep, db: SessionDep) -> dict[str, str]:
    """A supervisor joins a connected session listen-only (the live room grants the media side)."""
    return _supervise(session_id, "listener", supervisor, desk, db)


@router.post("/{session_id}/whisper")
def whisper(session_id: str, supervisor: CurrentSupervisor, desk: DeskDep, db: SessionDep) -> dict[str, str]:
    """A supervisor speaks to the session's operator alone; the customer never hears it."""
    return _supervise(session_id, "whisperer", supervisor, desk, db)


@router.post("/{session_id}/barge")
def barge(session_id: str, supervisor: CurrentSupervisor, desk: DeskDep, db: SessionDep) -> dict[str, str]:
    """A supervisor joins the conversation: the operator and the customers hear them, and the
    customers are told."""
    return _supervise(session_id, "barger", supervisor, desk, db)


def _supervise(
    session_id: str, role: Role, supervisor: OperatorAccount, desk: DeskDep, db: SessionDep
) -> dict[str, str]:
    spec = ROLES[role]
    assert spec.grant_event is not None and spec.verb is not None
    cs = desk.get_session(db, supervisor.brand_id, session_id)
    if cs.state != "connected":
        raise Conflict(f"session {session_id} is {cs.state}, not connected")
    # the grant the live room checks when this supervisor joins it in this role (the time in the
    # room itself goes to the brand's audit log: avatar_care.api.supervision)
    desk.record_event(session_id, spec.grant_event, {"supervisor": supervisor.id})
    return {
        "session_id": cs.id,
        "template_id": cs.template_id,
        "mode": "listen-only" if role == "listener" else spec.verb,
        "role": role,
        "live_room_id": cs.live_room_id or "",
    }
