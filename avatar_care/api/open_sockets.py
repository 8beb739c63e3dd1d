"""Revocation reaches the sockets already open: an operator's or supervisor's queue socket and live
room signaling socket, and a customer's queue socket.

A socket checks its token once, when it opens; without this it would go on after the token was
revoked. Each authenticated socket holds a :class:`Held` here while it is open. The routes that
revoke (sign-out, disabling or deleting an account) tell :class:`OpenSockets`, which ends the
sockets of that token or that account at once; and every socket checks its token again every
``recheck_s`` seconds, which catches what no route announces (a token that expired, a revocation
made by another server process or from the command line). The socket then closes with
:data:`REVOKED` (4401, the code of a bad token on these sockets) and the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from rooms.operators import token_hash

logger = logging.getLogger(__name__)

#: The close code of a socket whose token was revoked or expired, or whose account was disabled or
#: deleted: the same as an unknown token's at the start, so a page handles both alike.
REVOKED = 4401
#: How often an open socket checks its token again (for what no route announces, like expiry).
RECHECK_S = 30.0


@dataclass(eq=False)
class Held:
    """One open socket's hold: ``ended`` is set, with ``reason``, when its token stops working."""

    token_hash: str
    operator_id: str | None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = ""

    def end(self, reason: str) -> None:
        if not self.ended.is_set():
            self.reason = reason
            self.ended.set()


class OpenSockets:
    """The authenticated sockets open in this process, found by token and by operator account."""

    def __init__(self, recheck_s: float = RECHECK_S) -> None:
        self.recheck_s = recheck_s
        self.loop: asyncio.AbstractEventLoop | None = None
        self.held: set[Held] = set()

    @contextlib.asynccontextmanager
    async def hold(
        self, token: str, operator_id: str | None, still_valid: Callable[[], bool]
    ) -> AsyncIterator[Held]:
        """While the socket is open: its :class:`Held`, ended by a revocation or when
        ``still_valid`` (called in a worker thread every ``recheck_s``) says no."""
        self.loop = asyncio.get_running_loop()
        held = Held(token_hash(token), operator_id)
        self.held.add(held)
        watcher = asyncio.create_task(self._recheck(held, still_valid))
        try:
            yield held
        finally:
            watcher.cancel()
            self.held.discard(held)

    async def _recheck(self, held: Held, still_valid: Callable[[], bool]) -> None:
        while not held.ended.is_set():
            await asyncio.sleep(self.recheck_s)
            try:
                valid = await asyncio.to_thread(still_valid)
            except Exception:  # a database hiccup is not a revocation: look again next time
                logger.exception("an open socket's token could not be checked again")
                continue
            if not valid:
                held.end("the token is no longer valid (expired or revoked): sign in again")

    def revoke_token(self, token: str, reason: str) -> None:
        """End the sockets opened with this token (from any thread)."""
        hashed = token_hash(token)
        self._end(lambda h: h.token_hash == hashed, reason)

    def revoke_operator(self, operator_id: str, reason: str) -> None:
        """End every socket of this operator account (from any thread)."""
        self._end(lambda h: h.operator_id == operator_id, reason)

    def _end(self, which: Callable[[Held], bool], reason: str) -> None:
        def end() -> None:
            for held in [h for h in self.held if which(h)]:
                held.end(reason)

        if self.loop is None or self.loop.is_closed():
            return  # no socket was ever held in this process
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            end()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is shutting down: its sockets too
                self.loop.call_soon_threadsafe(end)
