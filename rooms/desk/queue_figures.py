"""The queue's figures of the moment, per brand: waiting customers, open offers, the longest wait,
operators by presence, running rooms and their seats. Read from the router's state, which on
PostgreSQL is every process's (so any process reports the whole desk's queue)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from rooms.routing import Router


@dataclass
class BrandQueue:
    waiting: int = 0
    offered: int = 0
    #: seconds the customer waiting longest has waited (0 with nobody waiting)
    longest_wait_s: float = 0.0
    #: operators routing knows, by presence ("available", "busy", "away", "offline")
    operators: Counter[str] = field(default_factory=Counter)
    #: rooms the available operators could still open (their capacity less their running rooms)
    free_capacity: int = 0
    rooms: int = 0
    seats_taken: int = 0
    seats_free: int = 0


def figures_of(router: Router, now: datetime) -> dict[int, BrandQueue]:
    """Each brand's figures, by brand id (brands with nothing in the queue are absent)."""
    brands: dict[int, BrandQueue] = {}

    def of(brand_id: int) -> BrandQueue:
        return brands.setdefault(brand_id, BrandQueue())

    for w in router.waiting:
        b = of(w.brand_id)
        b.waiting += 1
        b.offered += w.session_id in router.offers
        b.longest_wait_s = max(b.longest_wait_s, (now - w.enqueued_at).total_seconds())
    for op in router.operators.values():
        b = of(op.brand_id)
        b.operators[op.presence.value] += 1
        if op.presence.value == "available":
            b.free_capacity += max(op.capacity - op.active, 0)
    for room in router.rooms.values():
        b = of(room.brand_id)
        b.rooms += 1
        b.seats_taken += len(room.customers)
        b.seats_free += max(room.free_seats, 0)
    return brands
