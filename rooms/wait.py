"""How long a waiting customer will wait: from the recent handle times of the room template.

Estimate = (customers ahead of you + 1) x average recent handle time / serving slots (the capacity
of the operators who could serve you and are at work), rounded up to whole rounds. With no history
yet, a default handle time stands in; with nobody at work the estimate is unknown (None) and the
page offers a message or a callback instead of a number.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class WaitEstimator:
    default_handle_s: float = 180.0
    window: int = 50
    _handle: dict[str, deque[float]] = field(default_factory=dict)

    def record_handle_time(self, template_id: str, seconds: float) -> None:
        if seconds > 0 and math.isfinite(seconds):
            self._handle.setdefault(template_id, deque(maxlen=self.window)).append(seconds)

    def average_handle_s(self, template_id: str) -> float:
        recent = self._handle.get(template_id)
        return sum(recent) / len(recent) if recent else self.default_handle_s

    def estimate_s(self, template_id: str, position: int, operators_at_work: int) -> float | None:
        if operators_at_work <= 0:
            return None
        rounds = math.ceil(position / operators_at_work)
        return rounds * self.average_handle_s(template_id)
