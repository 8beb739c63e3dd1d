"""Live figures in Prometheus' text format: frames, packets, refusals, customers and hop times.

``GET /metrics`` lists every brand's live rooms, so it is for the server's operator only: it asks for
``Authorization: Bearer <AVATAR_CARE_METRICS_TOKEN>`` and answers 404 while that setting is empty.
``GET /metrics/rooms/{room_id}`` gives one room's figures to who may be in it: the demo room's operator
key, or an operator or supervisor token of the room's brand (the console shows its hop figures).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import PlainTextResponse

from avatar_care.api.deps import DeskDep, SessionDep, SettingsDep, bearer
from avatar_care.live.motion_hub import MotionHub
from avatar_care.live.registry import LiveRooms
from avatar_care.live.room import LiveRoom
from rooms.operators import operator_for_token

router = APIRouter(tags=["metrics"])


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _quantiles(name: str, labels: str, samples: Sequence[float]) -> list[str]:
    """p50 and p95 lines of a summary, none without samples."""
    if not samples:
        return []
    return [f'{name}{{{labels},quantile="{q}"}} {float(np.quantile(samples, q)):.3f}' for q in (0.5, 0.95)]


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request, settings: SettingsDep, token: Annotated[str, Depends(bearer)]) -> str:
    if not settings.metrics_token:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "metrics are off: set AVATAR_CARE_METRICS_TOKEN")
    if not secrets.compare_digest(token.encode(), settings.metrics_token.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong metrics token")
    return metrics_text(request.app.state.live_rooms)


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


def metrics_text(rooms: LiveRooms, only: str | None = None) -> str:
    """Every live room's figures (or room ``only``'s), as ``GET /metrics`` serves them."""
    counters: dict[str, tuple[str, str, Callable[[MotionHub], int]]] = {
        "avatar_care_motion_frames_total": ("counter", "tracking frames solved", lambda h: h.stats.frames),
        "avatar_care_motion_frames_rejected_total": (
            "counter",
            "tracking frames refused",
            lambda h: h.stats.rejected,
        ),
        "avatar_care_motion_packets_sent_total": (
            "counter",
            "motion packets sent",
            lambda h: h.stats.packets_sent,
        ),
        "avatar_care_motion_packets_filled_total": (
            "counter",
            "motion packets the output clock filled in between tracked frames",
            lambda h: h.stats.packets_filled,
        ),
        "avatar_care_motion_packets_idle_total": (
            "counter",
            "motion packets of the avatar at rest and alive while no tracked frame came (voice only)",
            lambda h: h.stats.packets_idle,
        ),
        "avatar_care_motion_packets_voiced_total": (
            "counter",
            "motion packets whose mouth followed the operator's voice (face not tracked)",
            lambda h: h.stats.packets_voiced,
        ),
        "avatar_care_customers": ("gauge", "customers receiving motion", lambda h: len(h.customers)),
    }
    lines: list[str] = []
    for name, (kind, text, value) in counters.items():
        lines += [f"# HELP {name} {text}, per room", f"# TYPE {name} {kind}"]
        for room_id, room in _chosen(rooms, only):
            lines.append(f'{name}{{room="{_label(room_id)}"}} {value(room.hub)}')
    lines += [
        "# HELP avatar_care_capture_frames_total server capture's camera frames by outcome, per room",
        "# TYPE avatar_care_capture_frames_total counter",
    ]
    for room_id, room in _chosen(rooms, only):
        capture = room.capture_stats
        for outcome in ("offered", "processed", "dropped", "failed"):
            lines.append(
                f'avatar_care_capture_frames_total{{room="{_label(room_id)}",outcome="{outcome}"}} '
                f"{getattr(capture, outcome)}"
            )
    lines += [
        "# HELP avatar_care_capture_worker_crashes_total server capture workers that ended on their own, per room",
        "# TYPE avatar_care_capture_worker_crashes_total counter",
    ]
    for room_id, room in _chosen(rooms, only):
        lines.append(
            f'avatar_care_capture_worker_crashes_total{{room="{_label(room_id)}"}} {room.capture_stats.crashes}'
        )
    lines += [
        "# HELP avatar_care_capture_transit_ms server capture: the video's time from the operator's camera "
        "to the decoded frame at the server (the capture hop's share before the worker), recent frames",
        "# TYPE avatar_care_capture_transit_ms summary",
    ]
    for room_id, room in _chosen(rooms, only):
        room_label = f'room="{_label(room_id)}"'
        lines += _quantiles("avatar_care_capture_transit_ms", room_label, room.capture_stats.transit_ms)
    lines += [
        "# HELP avatar_care_hop_ms latency per hop (recent frames): capture is the frame's age when the "
        "operator's page sent it; solve, send, receive, render are ms after its landmarks reached the server",
        "# TYPE avatar_care_hop_ms summary",
    ]
    for room_id, room in _chosen(rooms, only):
        for hop, samples in room.hub.stats.hops.items():
            lines += _quantiles("avatar_care_hop_ms", f'room="{_label(room_id)}",hop="{hop}"', samples)
    return "\n".join(lines) + "\n"


def _chosen(rooms: LiveRooms, only: str | None) -> list[tuple[str, LiveRoom]]:
    return sorted(((k, v) for k, v in rooms.rooms.items() if only is None or k == only), key=lambda kv: kv[0])
