"""Rate limits with the ``limits`` library: a moving window per limit and key, counted in the storage
the settings name (``memory://`` in this process by default; ``redis://…`` when several processes
must share the counts). A refusal is HTTP 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
import time

from fastapi import HTTPException, status
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


class RateLimits:
    def __init__(self, storage_url: str) -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_url))

    def hit(self, limit: RateLimitItem, *keys: str) -> int | None:
        """Count one; None if within the limit, else the whole seconds until one more is allowed."""
        if self.limiter.hit(limit, *keys):
            return None
        return self.retry_after(limit, *keys)

    def exhausted(self, limit: RateLimitItem, *keys: str) -> int | None:
        """Without counting: None if one more is allowed, else the seconds until it is."""
        if self.limiter.test(limit, *keys):
            return None
        return self.retry_after(limit, *keys)

    def retry_after(self, limit: RateLimitItem, *keys: str) -> int:
        reset_at = self.limiter.get_window_stats(limit, *keys).reset_time
        return max(1, math.ceil(reset_at - time.time()))


def rate(text: str) -> RateLimitItem:
    """``"30 per minute"``, ``"10/second"`` (the ``limits`` notation) as a limit."""
    return parse(text)


def too_many(retry_after: int, what: str) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"too many {what}; try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )
