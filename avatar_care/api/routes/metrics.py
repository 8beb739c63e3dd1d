"""Live figures in Prometheus' text format: frames, packets, refusals, customers and hop times."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from avatar_care.live.motion_hub import MotionHub
from avatar_care.live.registry import LiveRooms

router = APIRouter(tags=["metrics"])


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> str:
    rooms: LiveRooms = request.app.state.live_rooms
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
        "avatar_care_customers": ("gauge", "customers receiving motion", lambda h: len(h.customers)),
    }
    lines: list[str] = []
    for name, (kind, text, value) in counters.items():
        lines += [f"# HELP {name} {text}, per room", f"# TYPE {name} {kind}"]
        for room_id, room in sorted(rooms.rooms.items()):
            lines.append(f'{name}{{room="{_label(room_id)}"}} {value(room.hub)}')
    lines += [
        "# HELP avatar_care_hop_ms latency per hop (recent frames): capture is the frame's age when the "
        "operator's page sent it; solve, send, receive, render are ms after its landmarks reached the server",
        "# TYPE avatar_care_hop_ms summary",
    ]
    for room_id, room in sorted(rooms.rooms.items()):
        for hop, samples in room.hub.stats.hops.items():
            if samples:
                for q in (0.5, 0.95):
                    lines.append(
                        f'avatar_care_hop_ms{{room="{_label(room_id)}",hop="{hop}",quantile="{q}"}} '
                        f"{float(np.quantile(samples, q)):.3f}"
                    )
    return "\n".join(lines) + "\n"
