"""Live queue updates over WebSocket: the waiting customer's position and the operator's panel.

``/ws/queue/customer`` (a waiting customer, with the session access token) and ``/ws/queue/operator``
(with the operator's bearer token). The socket is accepted; the page's first message is
``{"type": "auth", "token": "…"}``; a missing, unknown or expired token closes the socket with code
4401 and the reason, and so does a token revoked or expired while the socket is open, or the
operator's account disabled or deleted (``avatar_care.api.open_sockets``). Then the server sends a full JSON snapshot and another after every change in
the brand's queue or sessions, and every ``REFRESH_S`` if the body changed with time alone (the same
body as ``GET /api/customer/session`` or ``GET /api/queue``); snapshots rather than deltas, so a page
that missed a message is never out of step. Offers reach operators this way. The token is never in
the URL, so no access log or proxy records it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from avatar_care.api.deps import customer_from_token, operator_from_token
from avatar_care.api.open_sockets import Held, OpenSockets
from avatar_care.api.views import customer_view, queue_view
from rooms.desk import CareDesk
from rooms.models import OperatorAccount

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/ws/queue", tags=["queue"])
REFRESH_S = 10.0
#: The shortest time between two snapshots on one socket (changes in between go in the next).
MIN_GAP_S = 0.25
#: How long the server waits for the first message, the one with the token.
AUTH_WAIT_S = 10.0
#: The close code of a missing, unknown or expired token (after the socket was accepted, so the
#: page sees the code and stops retrying, instead of a failed handshake it cannot tell apart).
UNAUTHORIZED = 4401


class QueueHub:
    """Wakes the WebSockets of a brand when the desk says something changed (from any thread): all
    of them, or those whose page shows what the change is about (its session, its operator)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.subscribers: dict[int, dict[asyncio.Queue[None], frozenset[str]]] = {}

    def notify(self, brand_id: int, about: frozenset[str] | None = None) -> None:
        if self.loop is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._wake, brand_id, about)

    def _wake(self, brand_id: int, about: frozenset[str] | None) -> None:
        for queue, shows in self.subscribers.get(brand_id, {}).items():
            if (about is None or shows & about) and queue.empty():
                queue.put_nowait(None)

    @contextlib.contextmanager
    def subscribe(self, brand_id: int, shows: frozenset[str]) -> Any:
        self.loop = asyncio.get_running_loop()
        queue: asyncio.Queue[None] = asyncio.Queue()
        self.subscribers.setdefault(brand_id, {})[queue] = shows
        try:
            yield queue
        finally:
            self.subscribers[brand_id].pop(queue, None)


async def _serve(
    websocket: WebSocket,
    brand_id: int,
    shows: frozenset[str],
    snapshot: Callable[[], dict[str, Any]],
    held: Held,
) -> None:
    hub: QueueHub = websocket.app.state.queue_hub
    with hub.subscribe(brand_id, shows) as changes:
        # the socket ends when the page closes it, or when its token is revoked (open_sockets)
        receiver = asyncio.create_task(_until_revoked(websocket, held))
        sent = ""
        loop = asyncio.get_running_loop()
        try:
            while True:
                built = loop.time()
                text = json.dumps(await asyncio.to_thread(snapshot), default=str)
                if text != sent:
                    await websocket.send_text(text)
                    sent = text
                waiter = asyncio.create_task(changes.get())
                # Time alone changes some of it (a long wait opens the message form): look again
                # every REFRESH_S even when nothing happened.
                done, _ = await asyncio.wait(
                    {waiter, receiver}, timeout=REFRESH_S, return_when=asyncio.FIRST_COMPLETED
                )
                if receiver in done:
                    waiter.cancel()
                    return
                if waiter not in done:
                    waiter.cancel()
                    continue
                # At most one snapshot every MIN_GAP_S: the changes of a busy moment (an operator's
                # ten customers chatting at once) are told together in the next one, which holds
                # them all, instead of each rebuilding the page's whole view.
                pause = built + MIN_GAP_S - loop.time()
                if pause > 0:
                    done, _ = await asyncio.wait({receiver}, timeout=pause)
                    if receiver in done:
                        return
                    while not changes.empty():
                        changes.get_nowait()
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            receiver.cancel()


async def _drain(websocket: WebSocket) -> None:
    """Reads (and ignores) what the page sends, so a closed socket ends the loop."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()


async def _until_revoked(websocket: WebSocket, held: Held) -> None:
    """Returns when the page closed the socket, or closes it with REVOKED (4401) and the reason
    when its token stopped working."""
    drain = asyncio.create_task(_drain(websocket))
    revoked = asyncio.create_task(held.ended.wait())
    try:
        done, _ = await asyncio.wait({drain, revoked}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        drain.cancel()
        revoked.cancel()
    if revoked in done:
        await _refuse(websocket, held.reason)


async def _token(websocket: WebSocket) -> str | None:
    """Accept, then read the first message: ``{"type": "auth", "token": …}`` within AUTH_WAIT_S.

    The token travels in the first message rather than the URL, so no access log, proxy or
    browser history records it."""
    await websocket.accept()
    try:
        message = await asyncio.wait_for(websocket.receive(), AUTH_WAIT_S)
    except TimeoutError:
        return None
    text = message.get("text")
    if message["type"] != "websocket.receive" or not isinstance(text, str) or len(text) > 2048:
        return None
    try:
        auth = json.loads(text)
    except ValueError:
        return None
    token = auth.get("token") if isinstance(auth, dict) and auth.get("type") == "auth" else None
    return token if isinstance(token, str) and token else None


async def _refuse(websocket: WebSocket, reason: str) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await websocket.close(code=UNAUTHORIZED, reason=reason)


@router.websocket("/customer")
async def customer_updates(websocket: WebSocket) -> None:
    desk: CareDesk = websocket.app.state.desk
    token = await _token(websocket)
    try:
        cs = await asyncio.to_thread(customer_from_token, desk, token or "")
    except HTTPException as exc:
        await _refuse(websocket, str(exc.detail))
        return

    def snapshot() -> dict[str, Any]:
        with desk.sessions() as db:
            return customer_view(desk, db, cs.id)

    def still_valid() -> bool:
        try:
            customer_from_token(desk, token or "")
        except HTTPException:
            return False
        return True

    sockets: OpenSockets = websocket.app.state.open_sockets
    async with sockets.hold(token or "", None, still_valid) as held:
        await _serve(websocket, cs.brand_id, frozenset({cs.id}), snapshot, held)


@router.websocket("/operator")
async def operator_updates(websocket: WebSocket) -> None:
    desk: CareDesk = websocket.app.state.desk
    token = await _token(websocket)

    def check() -> OperatorAccount:
        with desk.sessions() as db:
            return operator_from_token(db, desk, token or "")

    try:
        operator = await asyncio.to_thread(check)
    except HTTPException as exc:
        await _refuse(websocket, str(exc.detail))
        return

    def snapshot() -> dict[str, Any]:
        return queue_view(desk, operator).model_dump(mode="json")

    def still_valid() -> bool:
        try:
            check()
        except HTTPException:
            return False
        return True

    sockets: OpenSockets = websocket.app.state.open_sockets
    async with sockets.hold(token or "", operator.id, still_valid) as held:
        await _serve(websocket, operator.brand_id, frozenset({operator.id}), snapshot, held)
