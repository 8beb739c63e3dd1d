"""The operator console's queue panel: waiting customers, offers, own sessions, messages and callbacks."""

from __future__ import annotations

from fastapi import APIRouter

from avatar_care.api.deps import CurrentOperator, DeskDep, SessionDep
from avatar_care.api.input_policy import RowId
from avatar_care.api.views import QueueView, queue_view

router = APIRouter(prefix="/api/queue", tags=["queue"])


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
