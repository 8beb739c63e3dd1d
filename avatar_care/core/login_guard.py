"""Signing in: throttled per account and per address, the same work whether the login exists or not,
and argon2 off the event loop with a bounded number at once.

- per address: every attempt counts (``AVATAR_CARE_LOGIN_RATE_PER_ADDRESS``), so one address cannot try
  many accounts; per account: failed attempts count (``AVATAR_CARE_LOGIN_FAILURES_PER_ACCOUNT``), and
  while exhausted even the right password is refused, so guessing cannot go on. Both answer 429 with
  ``Retry-After``.
- an unknown login, or an account without a password, is checked against a hash of a random password
  made with the same parameters: the answer takes as long as a wrong password's.
- argon2 runs in worker threads, at most ``AVATAR_CARE_PASSWORD_HASH_CONCURRENCY`` at once; the others
  wait on a semaphore without holding a thread, so a burst of logins leaves the event loop and every
  other route free.
"""

from __future__ import annotations

import asyncio
import secrets
from functools import cache

from avatar_care.core.rate_limits import RateLimits, rate, too_many
from avatar_care.core.security import hash_password, verify_password


@cache
def _stand_in_hash() -> str:
    return hash_password(secrets.token_urlsafe(24))


class LoginGuard:
    def __init__(
        self, limits: RateLimits, per_address: str, failures_per_account: str, concurrency: int
    ) -> None:
        self.limits = limits
        self.per_address = rate(per_address)
        self.failures_per_account = rate(failures_per_account)
        self.concurrency = concurrency
        self._semaphore: asyncio.Semaphore | None = None
        #: password checks done, and waiting for their turn (figures for tests and benchmarks)
        self.verified = 0
        self.waiting = 0
        self._stand_in = _stand_in_hash()

    def admit(self, scope: str, login: str, address: str) -> None:
        """Raises 429 when this address or this account has had too many tries; counts the address's."""
        retry_after = self.limits.exhausted(self.failures_per_account, "login-account", scope, login)
        if retry_after is not None:
            raise too_many(retry_after, "failed sign-ins for this account")
        retry_after = self.limits.hit(self.per_address, "login-address", address)
        if retry_after is not None:
            raise too_many(retry_after, "sign-ins from this address")

    def failed(self, scope: str, login: str) -> None:
        self.limits.hit(self.failures_per_account, "login-account", scope, login)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """The password against the stored hash; against a stand-in when there is none (same work)."""
        if self._semaphore is None:  # made on the serving loop
            self._semaphore = asyncio.Semaphore(self.concurrency)
        self.waiting += 1
        entered = False
        try:
            async with self._semaphore:
                self.waiting -= 1
                entered = True
                ok = await asyncio.to_thread(verify_password, stored_hash or self._stand_in, password)
                self.verified += 1
        finally:
            if not entered:
                self.waiting -= 1
        return ok and stored_hash is not None
