"""This process's live rooms in Prometheus' text format: frames, packets, refusals, customers and
hop times, per room (a process that runs live rooms serves or publishes them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from avatar_care.live.motion_hub import MotionHub
from avatar_care.live.registry import LiveRooms
from avatar_care.live.room import LiveRoom


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _quantiles(name: str, labels: str, samples: Sequence[float]) -> list[str]:
    """p50 and p95 lines of a summary, none without samples."""
    if not samples:
        return []
    return [f'{name}{{{labels},quantile="{q}"}} {float(np.quantile(samples, q)):.3f}' for q in (0.5, 0.95)]


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
