"""The FastAPI application: HTTP API routers, signaling WebSocket and static pages in one process."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import mimetypes
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from avatar_care.api.deps import install_error_handlers
from avatar_care.api.headers import SecurityHeaders
from avatar_care.api.limits import BodyLimits
from avatar_care.api.open_sockets import OpenSockets
from avatar_care.api.routes import (
    avatars,
    brand_admin,
    care_sessions,
    catalogue,
    customer,
    data_rights,
    exports,
    figures,
    health,
    metrics,
    operators,
    queue,
    queue_ws,
    recordings,
    retarget,
    sign_in_settings,
    signaling,
    sso,
    surveys,
    templates,
    tickets,
)
from avatar_care.avatars.staging import clear_incoming
from avatar_care.core.config import Settings, get_settings
from avatar_care.core.db import open_database
from avatar_care.core.login_guard import LoginGuard
from avatar_care.core.paths import vendor_dir
from avatar_care.core.rate_limits import RateLimits
from avatar_care.live.demo_operator import load_recording, load_voice, replay
from avatar_care.live.ice import IceConfig
from avatar_care.live.recordings import RoomRecordings
from avatar_care.live.registry import LiveRooms
from avatar_care.metrics.exposition import process_figures
from avatar_care.metrics.http_figures import HttpFigures, HttpMetrics
from avatar_care.metrics.shared import SharedFigures, publishing
from avatar_care.workers.local import LocalWorkers
from avatar_care.workers.placement import Placement
from avatar_care.workers.registry import WorkerRow, heartbeat, new_worker_id
from rooms.clock import SystemClock
from rooms.desk import CareDesk
from rooms.desk.peers import Peers

logger = logging.getLogger(__name__)

# One module per resource (api/routes/<resource>.py), each with its ``router``, in the order they are
# included: imported by name, so a missing or renamed module fails at import and in the type check.
ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    retarget.router,
    avatars.router,
    signaling.router,
    metrics.router,
    brand_admin.router,
    sign_in_settings.router,
    sso.router,
    templates.router,
    operators.router,
    catalogue.router,
    queue.router,
    care_sessions.router,
    customer.router,
    figures.router,
    tickets.router,
    surveys.router,
    exports.router,
    data_rights.router,
    queue_ws.router,
    recordings.router,
)
#: The demo operator's recorded session, under the shipped assets (a checkout's or the package's).
DEMO_RECORDING = Path("demo") / "book.jsonl"


def create_app(
    settings: Settings | None = None,
    demo: bool = False,
    *,
    rooms_on_workers: bool = False,
    worker_url: str | None = None,
    local_workers: int = 0,
) -> FastAPI:
    """The application. With ``demo``, a live room "demo" whose built-in operator replays a recording.

    Room workers (PostgreSQL only; docs/scale.md): with ``rooms_on_workers`` the consultations' live
    rooms run on room workers, and signaling is relayed to the room's worker; with ``worker_url``
    this process is a room worker, reached there: it serves signaling and health only, heartbeats
    in ``room_workers``, and never routes the queue. ``local_workers``: room workers this process
    starts as its children when it starts, and stops when it stops (``avatar-care serve --workers``)."""
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ice = IceConfig.from_settings(settings)
    live_rooms = LiveRooms(ice)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        wake = asyncio.Event()
        peers: Peers | None = app.state.peers
        if peers is not None:
            loop = asyncio.get_running_loop()

            def route_now() -> None:
                with contextlib.suppress(RuntimeError):  # the loop closed: the server is stopping
                    loop.call_soon_threadsafe(wake.set)

            peers.on_wake = route_now
        tasks: list[asyncio.Task[None]] = []
        local = LocalWorkers(local_workers)
        local.start()
        if worker_row is None:
            tasks.append(asyncio.create_task(_queue_ticker(app.state.desk, settings.queue_tick_s, wake)))
        else:
            await asyncio.to_thread(worker_row.register)
            logger.info("room worker %s ready at %s", worker_row.id, worker_row.signaling_url)
            tasks.append(asyncio.create_task(heartbeat(worker_row, lambda: set(live_rooms.rooms))))
        shared: SharedFigures | None = app.state.shared_figures
        if shared is not None:  # /metrics of every process on the database lists this one's figures
            own = functools.partial(process_figures, live_rooms, app.state.http_figures)
            tasks.append(asyncio.create_task(publishing(shared, own)))
        if demo:
            room, _ = live_rooms.open("demo")
            recording = settings.assets_dir / DEMO_RECORDING
            voice = load_voice(recording.parent)
            tasks.append(asyncio.create_task(replay(room, load_recording(recording), voice)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.to_thread(local.stop)
            await live_rooms.close()
            if worker_row is not None:
                with contextlib.suppress(Exception):  # the database may be gone: the row goes stale
                    await asyncio.to_thread(worker_row.unregister)
            if peers is not None:
                await asyncio.to_thread(peers.close)

    app = FastAPI(title="avatar-care", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.live_rooms = live_rooms
    app.state.ice = ice
    if demo:
        app.state.demo_operator_key = live_rooms.open("demo")[1]
    app.state.engine, app.state.sessions = open_database(settings)
    on_postgresql = app.state.engine.dialect.name == "postgresql"
    if (rooms_on_workers or worker_url or local_workers) and not on_postgresql:
        raise ValueError("room workers need PostgreSQL (AVATAR_CARE_DATABASE_URL): they share its tables")
    # On PostgreSQL several processes serve one queue: one routes, and they pass changes on.
    peers = Peers(app.state.engine, routes=worker_url is None) if on_postgresql else None
    app.state.peers = peers
    app.state.http_figures = HttpFigures()
    app.state.shared_figures = (
        SharedFigures(app.state.engine, role="worker" if worker_url else "api") if peers is not None else None
    )
    app.state.placement = Placement(app.state.sessions) if rooms_on_workers else None
    worker_row = WorkerRow(app.state.sessions, new_worker_id(), worker_url) if worker_url else None
    app.state.worker_row = worker_row
    # The care desk rebuilds the queue from the database (customers keep their place across
    # restarts), unless other processes already run it.
    app.state.desk = CareDesk(
        app.state.sessions,
        SystemClock(),
        accept_timeout=timedelta(seconds=settings.accept_timeout_s),
        rebuild=peers.join() if peers is not None else True,
    )
    app.state.rate_limits = RateLimits(settings.rate_limit_storage)
    app.state.login_guard = LoginGuard(
        app.state.rate_limits,
        settings.login_rate_per_address,
        settings.login_failures_per_account,
        settings.password_hash_concurrency,
    )
    app.state.queue_hub = queue_ws.QueueHub()
    app.state.open_sockets = OpenSockets(settings.socket_recheck_s)
    app.state.desk.listeners.append(app.state.queue_hub.notify)
    app.state.desk.chat_listeners.append(app.state.queue_hub.chat_posted)
    # consultations are recorded where their template says so (avatar_care/live/recordings.py)
    recordings_dir = settings.data_dir / "recordings"
    desk: CareDesk = app.state.desk
    live_rooms.recordings = RoomRecordings(app.state.sessions, recordings_dir, lambda: desk.clock.now())
    app.state.desk.recordings_dir = recordings_dir
    app.state.desk.chat_listeners.append(live_rooms.recordings.chat_posted)
    # the customer's answer and the operator's pause reach the process that runs the room through
    # the desk's changes (from another process too, with rooms on workers)
    live_rooms.recordings.room_of = live_rooms.get
    app.state.desk.listeners.append(live_rooms.recordings.sessions_changed)
    if peers is not None:
        app.state.desk.routes_here = peers.is_router
        app.state.desk.listeners.append(peers.publish)
        app.state.desk.seat_listeners.append(peers.publish_seat)
        app.state.desk.chat_listeners.append(peers.publish_chat)
        peers.on_chat = app.state.desk.tell_chat
        peers.on_event = app.state.desk.tell
        peers.on_seat = app.state.desk.tell_seat
        peers.start()
    install_error_handlers(app)
    # Outermost last: the headers go on every answer, the 413s of the limits included.
    app.add_middleware(BodyLimits)
    app.add_middleware(
        SecurityHeaders, web_client_dir=settings.web_client_dir, frame_ancestors=settings.frame_ancestors
    )
    app.add_middleware(HttpMetrics, figures=app.state.http_figures)  # counts every answer, refusals too
    if worker_row is not None:  # a room worker: the live rooms' signaling, and whether it is up
        for router in (health.router, signaling.router):
            app.include_router(router)
        return app
    for router in ROUTERS:
        app.include_router(router)
    _mount_static(app, settings)
    return app


async def _queue_ticker(desk: CareDesk, interval_s: float, wake: asyncio.Event) -> None:
    """Expires missed offers and makes new ones; the desk's clock decides, so tests can drive it.
    ``wake`` ticks at once (this process became the router, or another process changed the queue)."""
    loop = asyncio.get_running_loop()
    next_purge = loop.time()
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), interval_s)
        wake.clear()
        try:
            await asyncio.to_thread(desk.tick)
            if loop.time() >= next_purge:  # transcripts' and consultations' retention, hourly
                next_purge = loop.time() + 3600
                await asyncio.to_thread(desk.apply_retention)
        except Exception:  # one bad tick must not stop routing for good
            logger.exception("queue tick failed")


def _mount_static(app: FastAPI, settings: Settings) -> None:
    """The pages, the npm files they fetch by URL and the public assets, served by the same process."""
    # CommonJS builds are JavaScript too: the console's capture worker loads MediaPipe's with
    # importScripts, which refuses a script served as anything else (Python knows only .js, .mjs)
    mimetypes.add_type("text/javascript", ".cjs")
    (settings.data_dir / "avatars").mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "logos").mkdir(parents=True, exist_ok=True)
    clear_incoming(settings.data_dir)
    mounts = {
        "/media/avatars": settings.data_dir / "avatars",  # avatars brands upload, once accepted
        "/media/logos": settings.data_dir / "logos",  # rooms' logos, redrawn (avatar_care/logos.py)
        "/vendor": vendor_dir(settings.web_client_dir),
        "/app": settings.web_client_dir,
        "/assets/avatars": settings.assets_dir / "avatars",
        "/assets/models": settings.assets_dir / "models",
    }
    for path, directory in mounts.items():
        if directory.is_dir():
            app.mount(path, StaticFiles(directory=directory), name=path.strip("/").replace("/", "-"))
        else:
            logger.warning("not serving %s: %s is missing (run scripts/setup.sh)", path, directory)
