"""Live queue updates over WebSocket: the waiting customer's position and the operator's panel.

``/ws/queue/customer`` (a waiting customer, with the session access token) and ``/ws/queue/operator``
(with the operator's bearer token). The socket is accepted; the page's first message is
``{"type": "auth", "token": "…"}``; a missing, unknown or expired token closes the socket with code
4401 and the reason, and so does a token revoked or expired while the socket is open, or the
operator's account disabled or deleted (``avatar_care.api.open_sockets``).

Then the server sends two kinds of message. A **snapshot**, the page's whole view (the same body as
``GET /api/customer/session`` or ``GET /api/queue``, every chat message with its ``id``): first, then
after every change in the brand's queue or sessions that concerns the page, at most one every
``MIN_GAP_S``, and every ``REFRESH_S`` if the body changed with time alone; a page that reconnects
gets the whole state so. And **chat**, ``{"type": "chat", "messages": [{"session_id", "id",
"sender", "text", "at"}, …]}``: the messages stored since, of the page's consultations, as soon as
they are stored, each once and in the order of their ids, never one the page already had in a
snapshot. A message does not rebuild the views: with 100 customers chatting, rebuilding two whole
views (transcripts included) for every message was most of the server's work. Offers reach
operators in snapshots. The token is never in the URL, so no access log or proxy records it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

from avatar_care.api.deps import customer_from_token, operator_from_token
from avatar_care.api.open_sockets import Held, OpenSockets
from avatar_care.api.views import customer_view, queue_view
from rooms.desk import CareDesk, ChatPosted
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


@dataclass(eq=False)
class Subscriber:
    """One page's socket as the hub sees it: what it shows (its session, or its operator), whether
    its snapshot is out of date, and the chat messages stored since it last sent them."""

    shows: frozenset[str]
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stale: bool = True
    chat: list[ChatPosted] = field(default_factory=list)


class QueueHub:
    """Tells the WebSockets of a brand what the desk says changed (from any thread): all of them,
    or those whose page shows what the change is about (its session, its operator); and hands each
    stored chat message to the sockets of its session's customer and operator."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.subscribers: dict[int, set[Subscriber]] = {}

    def _call(self, function: Callable[..., None], *args: Any) -> None:
        if self.loop is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                self.loop.call_soon_threadsafe(function, *args)

    def notify(self, brand_id: int, about: frozenset[str] | None = None) -> None:
        self._call(self._wake, brand_id, about)

    def chat_posted(self, message: ChatPosted) -> None:
        # Called in the order of the messages' ids; call_soon_threadsafe keeps that order.
        self._call(self._chat, message)

    def _wake(self, brand_id: int, about: frozenset[str] | None) -> None:
        for subscriber in self.subscribers.get(brand_id, ()):
            if about is None or subscriber.shows & about:
                subscriber.stale = True
                subscriber.wake.set()

    def _chat(self, message: ChatPosted) -> None:
        about = {message.session_id, message.operator_id}
        for subscriber in self.subscribers.get(message.brand_id, ()):
            if not subscriber.shows.isdisjoint(about):
                subscriber.chat.append(message)
                subscriber.wake.set()

    @contextlib.contextmanager
    def subscribe(self, brand_id: int, shows: frozenset[str]) -> Iterator[Subscriber]:
        self.loop = asyncio.get_running_loop()
        subscriber = Subscriber(shows)
        self.subscribers.setdefault(brand_id, set()).add(subscriber)
        try:
            yield subscriber
        finally:
            self.subscribers[brand_id].discard(subscriber)


def customer_chat_ids(view: dict[str, Any]) -> dict[str, int]:
    """The newest chat message id of the customer's view, by session."""
    return {view["session_id"]: max((m["id"] for m in view["chat"]), default=0)}


def panel_chat_ids(view: dict[str, Any]) -> dict[str, int]:
    """The newest chat message id of each consultation on the operator's panel."""
    return {s["session_id"]: max((m["id"] for m in s["chat"]), default=0) for s in view["sessions"]}


async def _serve(
    websocket: WebSocket,
    brand_id: int,
    shows: frozenset[str],
    snapshot: Callable[[], dict[str, Any]],
    chat_ids: Callable[[dict[str, Any]], dict[str, int]],
    held: Held,
) -> None:
    hub: QueueHub = websocket.app.state.queue_hub
    with hub.subscribe(brand_id, shows) as subscriber:
        # the socket ends when the page closes it, or when its token is revoked (open_sockets)
        receiver = asyncio.create_task(_until_revoked(websocket, held))
        receiver.add_done_callback(lambda _: subscriber.wake.set())
        sent = ""
        #: by session, the newest chat message the page has (from a snapshot or a chat message)
        has: dict[str, int] = {}
        loop = asyncio.get_running_loop()
        built = -REFRESH_S
        try:
            while True:
                # Cleared before looking: whatever the hub tells from here on wakes the wait below.
                subscriber.wake.clear()
                if receiver.done():
                    return
                if subscriber.stale and loop.time() >= built + MIN_GAP_S:
                    # At most one snapshot every MIN_GAP_S: the changes of a busy moment are told
                    # together in the next one, which holds them all.
                    subscriber.stale = False
                    built = loop.time()
                    view = await asyncio.to_thread(snapshot)
                    text = json.dumps(view, default=str)
                    if text != sent:
                        await websocket.send_text(text)
                        sent = text
                    for session_id, newest in chat_ids(view).items():
                        has[session_id] = max(has.get(session_id, 0), newest)
                if subscriber.chat:
                    messages, subscriber.chat = subscriber.chat, []
                    fresh = []
                    for message in messages:  # in id order; those the snapshot held are left out
                        if message.id > has.get(message.session_id, 0):
                            has[message.session_id] = message.id
                            fresh.append(message.as_json())
                    if fresh:
                        await websocket.send_text(json.dumps({"type": "chat", "messages": fresh}))
                if subscriber.chat or subscriber.wake.is_set():
                    continue  # told more while sending
                # Time alone changes some of the view (a long wait opens the message form): look
                # again every REFRESH_S even when nothing happened.
                # A timer rather than a task per wait: this runs twice for every chat message.
                due = built + (MIN_GAP_S if subscriber.stale else REFRESH_S) - loop.time()
                timer = loop.call_later(max(due, 0.0), _due, subscriber)
                try:
                    await subscriber.wake.wait()
                finally:
                    timer.cancel()
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            receiver.cancel()


def _due(subscriber: Subscriber) -> None:
    """The socket's snapshot is due again (the gap after the last one, or the refresh)."""
    subscriber.stale = True
    subscriber.wake.set()


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
        await _serve(websocket, cs.brand_id, frozenset({cs.id}), snapshot, customer_chat_ids, held)


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
        await _serve(websocket, operator.brand_id, frozenset({operator.id}), snapshot, panel_chat_ids, held)
