"""The FastAPI application: HTTP API routers, signaling WebSocket and static pages in one process."""

from __future__ import annotations

import importlib
import logging

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from avatar_care.core.config import Settings, get_settings
from avatar_care.core.db import open_database

logger = logging.getLogger(__name__)

# Each module exposes ``router: APIRouter``. One module per resource, as in api/routes/<resource>.py.
ROUTER_MODULES: tuple[str, ...] = (
    "avatar_care.api.routes.health",
    "avatar_care.api.routes.retarget",
    "avatar_care.api.routes.avatars",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="avatar-care", version="0.1.0")
    app.state.settings = settings
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
