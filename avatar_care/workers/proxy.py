"""The API process relays a page's signaling to the worker that runs its room.

The page keeps one origin and one TLS connection; the worker checks the join's token with the same
code against the same database (``avatar_care.api.room_access``). The media then goes from the page
to the worker directly (ICE), not through here. Messages pass as they are, both ways; the worker's
close code reaches the page (a refusal's 4401/4403/4404, a normal close after ``left``).

When the worker cannot be reached it is avoided and the room placed on another live worker; when
the worker's connection breaks (the worker died) the page's socket is closed with 1012 ("service
restart"), and the page joins again on its own (``web_client/room/signaling.js``): by then the room
is placed on a live worker and the page offers a new peer there, in the same session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import quote

from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from avatar_care.workers.placement import Placement, Worker

logger = logging.getLogger(__name__)

#: The page's socket closes with this when the room's worker is lost: it joins again at once.
WORKER_LOST = 1012
#: ... and with this when no live worker can take the room now: it tries again in RETRY_MS.
NO_WORKER = 1013
RETRY_MS = 1000
#: How long reaching a worker may take before it is avoided, and how the link to it is watched
#: (a worker whose machine vanished sends no close: its pings go unanswered).
CONNECT_TIMEOUT_S = 3.0
PING_INTERVAL_S = 1.0
PING_TIMEOUT_S = 3.0
#: ... and how long a close may wait for its answer (a frozen worker never sends one; the default
#: 10 s would hold the page that long before it could join again)
CLOSE_TIMEOUT_S = 1.0
MAX_TRIES = 3
#: Close codes a close frame may not carry (they say there was none).
UNSENDABLE = frozenset({1005, 1006, 1015})


async def reach(placement: Placement, room_id: str, max_size: int) -> tuple[Worker, ClientConnection] | None:
    """A connection to the signaling of the worker that runs ``room_id`` (placing it if needed)."""
    avoid: set[str] = set()
    for _ in range(MAX_TRIES):
        worker = await asyncio.to_thread(placement.place, room_id, avoid)
        if worker is None:
            return None
        url = f"{worker.signaling_url}/ws/rooms/{quote(room_id, safe='')}"
        try:
            upstream = await connect(
                url,
                open_timeout=CONNECT_TIMEOUT_S,
                ping_interval=PING_INTERVAL_S,
                ping_timeout=PING_TIMEOUT_S,
                close_timeout=CLOSE_TIMEOUT_S,
                max_size=max_size,
                compression=None,
            )
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            logger.warning("room %s: worker %s unreachable (%s); placing elsewhere", room_id, worker.id, exc)
            avoid.add(worker.id)
            continue
        return worker, upstream
    return None


async def relay(page: WebSocket, room_id: str, placement: Placement, max_size: int) -> None:
    """Relays ``page`` (accepted) to the room's worker until either side ends."""
    reached = await reach(placement, room_id, max_size)
    if reached is None:
        # no refusal's code (the page would stop for good), and when to try again: the pages do not
        # count it against their network (web_client/room/signaling.js)
        await page.send_json(
            {
                "type": "error",
                "message": "no room server can take this room now; retrying",
                "retry_ms": RETRY_MS,
            }
        )
        await page.close(code=NO_WORKER)
        return
    worker, upstream = reached
    to_worker = asyncio.ensure_future(_page_to_worker(page, upstream))
    to_page = asyncio.ensure_future(_worker_to_page(upstream, page))
    try:
        done, _ = await asyncio.wait({to_worker, to_page}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (to_worker, to_page):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(upstream.close(), 2)
    for task in done:  # a side that failed (the page gone mid-send, say): logged, never left unread
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.info("room %s: relay to worker %s ended: %r", room_id, worker.id, error)
    if to_page in done and not to_page.cancelled() and to_page.exception() is None:
        code = to_page.result()
        if code is None:
            logger.warning("room %s: its worker %s was lost; the page joins again", room_id, worker.id)
            code = WORKER_LOST
        elif code in UNSENDABLE:
            code = 1000
        with contextlib.suppress(Exception):
            await page.close(code=code)


async def _page_to_worker(page: WebSocket, upstream: ClientConnection) -> None:
    with contextlib.suppress(WebSocketDisconnect, ConnectionClosed):
        while True:
            message = await page.receive()
            if message["type"] == "websocket.disconnect":
                return
            text, data = message.get("text"), message.get("bytes")
            if text is not None:
                await upstream.send(text)
            elif data is not None:
                await upstream.send(data)  # the worker refuses it as the route always did


async def _worker_to_page(upstream: ClientConnection, page: WebSocket) -> int | None:
    """Forwards the worker's messages; returns its close code, or None when the link broke."""
    try:
        async for message in upstream:
            if isinstance(message, str):
                await page.send_text(message)
            else:
                await page.send_bytes(message)
    except ConnectionClosed:
        pass
    received = upstream.protocol.close_rcvd
    return received.code if received is not None else None
