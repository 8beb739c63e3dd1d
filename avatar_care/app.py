"""The FastAPI application: HTTP API routers, signaling WebSocket and static pages in one process."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
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
from avatar_care.api.routes.queue_ws import QueueHub
from avatar_care.avatars.staging import clear_incoming
from avatar_care.core.config import Settings, get_settings
from avatar_care.core.db import open_database
from avatar_care.core.login_guard import LoginGuard
from avatar_care.core.paths import vendor_dir
from avatar_care.core.rate_limits import RateLimits
from avatar_care.live.demo_operator import load_recording, load_voice, replay
from avatar_care.live.ice import IceConfig
from avatar_care.live.registry import LiveRooms
from rooms.clock import SystemClock
from rooms.desk import CareDesk

logger = logging.getLogger(__name__)

# Each module exposes ``router: APIRouter``. One module per resource, as in api/routes/<resource>.py.
ROUTER_MODULES: tuple[str, ...] = (
    "avatar_care.api.routes.health",
    "avatar_care.api.routes.retarget",
    "avatar_care.api.routes.avatars",
    "avatar_care.api.routes.signaling",
    "avatar_care.api.routes.metrics",
    "avatar_care.api.routes.brand_admin",
    "avatar_care.api.routes.templates",
    "avatar_care.api.routes.operators",
    "avatar_care.api.routes.catalogue",
    "avatar_care.api.routes.queue",
    "avatar_care.api.routes.care_sessions",
    "avatar_care.api.routes.customer",
    "avatar_care.api.routes.figures",
    "avatar_care.api.routes.queue_ws",
)
#: The demo operator's recorded session, under the shipped assets (a checkout's or the package's).
DEMO_RECORDING = Path("demo") / "book.jsonl"


def create_app(settings: Settings | None = None, demo: bool = False) -> FastAPI:
    """The application. With ``demo``, a live room "demo" whose built-in operator replays a recording."""
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ice = IceConfig.from_settings(settings)
    live_rooms = LiveRooms(ice)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_queue_ticker(app.state.desk, settings.queue_tick_s))]
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
            await live_rooms.close()

    app = FastAPI(title="avatar-care", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.live_rooms = live_rooms
    app.state.ice = ice
    if demo:
        app.state.demo_operator_key = live_rooms.open("demo")[1]
    app.state.engine, app.state.sessions = open_database(settings)
    # The care desk rebuilds the queue from the database: customers keep their place across restarts.
    app.state.desk = CareDesk(
        app.state.sessions, SystemClock(), accept_timeout=timedelta(seconds=settings.accept_timeout_s)
    )
    app.state.rate_limits = RateLimits(settings.rate_limit_storage)
    app.state.login_guard = LoginGuard(
        app.state.rate_limits,
        settings.login_rate_per_address,
        settings.login_failures_per_account,
        settings.password_hash_concurrency,
    )
    app.state.queue_hub = QueueHub()
    app.state.open_sockets = OpenSockets(settings.socket_recheck_s)
    app.state.desk.listeners.append(app.state.queue_hub.notify)
    install_error_handlers(app)
    # Outermost last: the headers go on every answer, the 413s of the limits included.
    app.add_middleware(BodyLimits)
    app.add_middleware(
        SecurityHeaders, web_client_dir=settings.web_client_dir, frame_ancestors=settings.frame_ancestors
    )
    for name in ROUTER_MODULES:
        router: APIRouter = importlib.import_module(name).router
        app.include_router(router)
    _mount_static(app, settings)
    return app


async def _queue_ticker(desk: CareDesk, interval_s: float) -> None:
    """Expires missed offers and makes new ones; the desk's clock decides, so tests can drive it."""
    loop = asyncio.get_running_loop()
    next_purge = loop.time()
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(desk.tick)
            if loop.time() >= next_purge:  # transcript retention, hourly
                next_purge = loop.time() + 3600
                await asyncio.to_thread(desk.purge_transcripts)
        except Exception:  # one bad tick must not stop routing for good
            logger.exception("queue tick failed")


def _mount_static(app: FastAPI, settings: Settings) -> None:
    """The pages, the npm files they fetch by URL and the public assets, served by the same process."""
    # CommonJS builds are JavaScript too: the console's capture worker loads MediaPipe's with
    # importScripts, which refuses a script served as anything else (Python knows only .js, .mjs)
    mimetypes.add_type("text/javascript", ".cjs")
    (settings.data_dir / "avatars").mkdir(parents=True, exist_ok=True)
    clear_incoming(settings.data_dir)
    mounts = {
        "/media/avatars": settings.data_dir / "avatars",  # avatars brands upload, once accepted
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
