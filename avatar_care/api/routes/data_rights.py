"""Customers' data rights (``rooms.data_rights``): everything held about a customer as JSON, and
its erasure. For the brand's administrators only (a person with the admin role, or the API key):
operators and supervisors get 403, another brand's consultation is 404 as if it did not exist."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AfterValidator, BaseModel, Field

from avatar_care.api.deps import AdminActor, CurrentBrandAdmin, DeskDep, SessionDep
from avatar_care.api.input_policy import text_problem
from rooms.data_rights import MAX_CUSTOMER_ID, Erasure, by_customer, by_session, erase, export
from rooms.desk import CareDesk
from rooms.recordings import delete_folders

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/data-rights", tags=["data rights"])


def _storable(value: str) -> str:
    reason = text_problem(value)
    if reason:
        raise ValueError(f"the id {reason}")
    return value


#: A consultation's id as the desk makes them (hex); anything else names no session.
SessionIdPath = Annotated[str, Path(min_length=1, max_length=32, pattern="^[A-Za-z0-9_-]+$")]
#: The brand's own id for the customer: the ``sub`` its site puts in the join token.
CustomerId = Annotated[str, Field(min_length=1, max_length=MAX_CUSTOMER_ID), AfterValidator(_storable)]


class CustomerIn(BaseModel):
    customer_id: CustomerId = Field(description="the brand's id for the customer (the join token's sub)")


class ErasureOut(BaseModel):
    erased_sessions: list[str] = Field(
        description="the consultations erased now (empty when they had been erased already)"
    )
    rows: dict[str, int] = Field(description="rows deleted or blanked, per table (0 when nothing was left)")


_EXPORT_DOC = (
    "A JSON document (format `avatar-care/customer-data`, `version` 1): the brand, and per consultation "
    "the customer's name and id, topic, context, times and outcome, the operator's notes, chat, "
    "events, survey answer, problem reports with the brand's answers and the cart; plus the "
    "messages and callback requests the customer left; the consultation's recordings (ids, times, "
    "sizes; their files at /api/recordings/{id}/files/...) and the customer's answer to recording. "
    "Erasure deletes the recordings' rows and files."
)


def _delete_recordings(desk: CareDesk, result: Erasure) -> None:
    """The erased recordings' files, now that their rows are gone (the hourly job deletes any a
    crash left behind)."""
    if desk.recordings_dir is not None:
        delete_folders(desk.recordings_dir, list(result.recording_paths))


def _out(result: Erasure) -> ErasureOut:
    return ErasureOut(erased_sessions=list(result.session_ids), rows=result.rows)


@router.get("/sessions/{session_id}", description=_EXPORT_DOC)
def export_session(
    session_id: SessionIdPath, brand: CurrentBrandAdmin, db: SessionDep, desk: DeskDep
) -> dict[str, Any]:
    """Everything held about the customer of one consultation."""
    return export(db, by_session(db, brand.id, session_id), desk.clock.now())


@router.post("/sessions/{session_id}/erase", response_model=ErasureOut)
def erase_session(
    session_id: SessionIdPath, brand: CurrentBrandAdmin, db: SessionDep, desk: DeskDep, actor: AdminActor
) -> ErasureOut:
    """Erase the customer's data of one consultation (409 while it runs); again changes nothing."""
    result = erase(db, by_session(db, brand.id, session_id), actor, desk.clock.now())
    _delete_recordings(desk, result)
    desk.customer_data_erased(brand.id)
    return _out(result)


@router.get("/customers", description=_EXPORT_DOC)
def export_customer(
    customer_id: Annotated[CustomerId, Query(description="the brand's id for the customer")],
    brand: CurrentBrandAdmin,
    db: SessionDep,
    desk: DeskDep,
) -> dict[str, Any]:
    """Everything held about a customer of the brand, every consultation and request (none: empty lists)."""
    return export(db, by_customer(brand.id, customer_id), desk.clock.now())


@router.post("/customers/erase", response_model=ErasureOut)
def erase_customer(
    body: CustomerIn, brand: CurrentBrandAdmin, db: SessionDep, desk: DeskDep, actor: AdminActor
) -> ErasureOut:
    """Erase everything about a customer of the brand (409 while one of their consultations runs)."""
    result = erase(db, by_customer(brand.id, body.customer_id), actor, desk.clock.now())
    _delete_recordings(desk, result)
    desk.customer_data_erased(brand.id)
    return _out(result)
