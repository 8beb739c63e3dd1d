"""The FastAPI application: HTTP API routers, signaling WebSocket and static pages in one process."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from avatar_care.core.config import Settings, get_settings
from avatar_care.core.db import open_database
from avatar_care.live.demo_operator import load_recording, replay
from avatar_care.live.registry import LiveRooms

logger = logging.getLogger(__name__)

# Each module exposes ``router: APIRouter``. One module per resource, as in api/routes/<resource>.py.
ROUTER_MODULES: tuple[str, ...] = (
    "avatar_care.api.routes.health",
    "avatar_care.api.routes.retarget",
    "avatar_care.api.routes.avatars",
    "avatar_care.api.routes.signaling",
    "avatar_care.api.routes.metrics",
)
DEMO_RECORDING = Path(__file__).resolve().parents[1] / "assets" / "demo" / "book.jsonl"


def create_app(settings: Settings | None = None, demo: bool = False) -> FastAPI:
    """The application. With ``demo``, a live room "demo" whose built-in operator replays a recording."""
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    live_rooms = LiveRooms()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = []
        if demo:
            room, _ = live_rooms.open("demo")
            tasks.append(asyncio.create_task(replay(room, load_recording(DEMO_RECORDING))))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await live_rooms.close()

    app = FastAPI(title="avatar-care", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.live_rooms = live_rooms
    if demo:
        app.state.demo_operator_key = live_rooms.open("demo")[1]
    app.state.engine, app.state.sessions = open_database(settings)
    for name in ROUTER_MODULES:
        router: APIRouter = importlib.import_module(name).router
        app.include_router(router)
    _mount_static(app, settings)
    return app


def _mount_static(app: FastAPI, settings: Settings) -> None:
    """The pages, their npm packages and the public assets, served by the same process."""
    (settings.data_dir / "avatars").mkdir(parents=True, exist_ok=True)
    mounts = {
        "/media/avatars": settings.data_dir / "avatars",  # avatars brands upload, once accepted
        "/vendor": settings.web_client_dir / "node_modules",
        "/app": settings.web_client_dir,
        "/assets/avatars": settings.assets_dir / "avatars",
        "/assets/models": settings.assets_dir / "models",
    }
    for path, directory in mounts.items():
        if directory.is_dir():
            app.mount(path, StaticFiles(directory=directory), name=path.strip("/").replace("/", "-"))
        else:
            logger.warning("not serving %s: %s is missing (run scripts/setup.sh)", path, directory)
