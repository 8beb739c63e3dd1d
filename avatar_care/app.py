"""The FastAPI application: HTTP API routers, signaling WebSocket and static pages in one process."""

from __future__ import annotations

import importlib
import logging

from fastapi import APIRouter, FastAPI

from avatar_care.core.config import Settings, get_settings

logger = logging.getLogger(__name__)

# Each module exposes ``router: APIRouter``. One module per resource, as in api/routes/<resource>.py.
ROUTER_MODULES: tuple[str, ...] = (
    "avatar_care.api.routes.health",
    "avatar_care.api.routes.retarget",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="avatar-care", version="0.1.0")
    app.state.settings = settings
    for name in ROUTER_MODULES:
        router: APIRouter = importlib.import_module(name).router
        app.include_router(router)
    return app
