"""Figures in Prometheus' text format: live rooms (frames, packets, refusals, customers, hop times),
HTTP requests, the queue and its operators.

``GET /metrics`` lists every server process's figures on the database (``avatar_care.metrics``)
and every brand's live rooms, so it is for the server's operator only: it asks for
``Authorization: Bearer <AVATAR_CARE_METRICS_TOKEN>`` and answers 404 while that setting is empty.
``GET /metrics/rooms/{room_id}`` gives one room's figures to who may be in it: the demo room's operator
key, or an operator or supervisor token of the room's brand (the console shows its hop figures).
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import PlainTextResponse
from sqlalchemy.exc import SQLAlchemyError

from avatar_care.api.deps import DeskDep, SessionDep, SettingsDep, bearer
from avatar_care.live.registry import LiveRooms
from avatar_care.metrics.exposition import metrics_page, process_figures
from avatar_care.metrics.live_rooms import metrics_text
from avatar_care.metrics.shared import SharedFigures, this_process
from rooms.operators import operator_for_token

logger = logging.getLogger(__name__)
router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(
    request: Request, settings: SettingsDep, desk: DeskDep, token: Annotated[str, Depends(bearer)]
) -> str:
    if not settings.metrics_token:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "metrics are off: set AVATAR_CARE_METRICS_TOKEN")
    if not secrets.compare_digest(token.encode(), settings.metrics_token.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong metrics token")
    state = request.app.state
    shared: SharedFigures | None = state.shared_figures
    texts = {
        shared.process_id if shared else this_process(): process_figures(state.live_rooms, state.http_figures)
    }
    if shared is not None:
        try:
            texts |= shared.others()
        except SQLAlchemyError:  # this process's own figures are still worth answering
            logger.warning("the other processes' figures could not be read", exc_info=True)
    return metrics_page(texts, desk.state.figures(desk.clock.now()))


@router.get("/metrics/rooms/{room_id}", response_class=PlainTextResponse)
def room_metrics(
    room_id: str, request: Request, db: SessionDep, desk: DeskDep, token: Annotated[str, Depends(bearer)]
) -> str:
    rooms: LiveRooms = request.app.state.live_rooms
    if room_id not in rooms.rooms:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no live room {room_id}")
    if not rooms.operator_may_enter(room_id, token):
        account = operator_for_token(db, token, desk.clock.now())
        info = desk.live_room(room_id)
        if account is None or info is None or info.brand_id != account.brand_id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no live room {room_id}")
    return metrics_text(rooms, only=room_id)
