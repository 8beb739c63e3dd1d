"""``avatar-care serve``: the server in one process on its embedded default."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from avatar_care.core.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

logger = logging.getLogger(__name__)
#: The largest WebSocket message the server reads (signaling's own limit is 64 KiB; uvicorn's
#: default would read 16 MiB before the route could refuse it).
WS_MAX_SIZE = 128 * 1024


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "serve",
        help="start the server (HTTP API and pages) in one process",
        description="Starts avatar-care on uvicorn. The embedded default needs nothing else: data goes to "
        "AVATAR_CARE_DATA_DIR (./data). Behind the internet: docs/deploy.md.",
    )
    add_listen_options(p)
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="room workers to start on this machine, each a process running live rooms (PostgreSQL "
        "only; default: the number of cores on PostgreSQL, 0 on SQLite); 0: live rooms in this process",
    )
    p.add_argument(
        "--remote-workers",
        action="store_true",
        help="place live rooms on room workers started elsewhere (avatar-care worker) on the same "
        "database, besides any --workers started here",
    )
    p.set_defaults(func=run_serve)


def add_listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default 8000)")
    parser.add_argument(
        "--tls-cert",
        type=Path,
        default=None,
        help="PEM certificate (chain): serve HTTPS (AVATAR_CARE_TLS_CERT)",
    )
    parser.add_argument(
        "--tls-key", type=Path, default=None, help="its PEM private key (AVATAR_CARE_TLS_KEY)"
    )


def listen_address(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Host and port from the command line, else from the settings."""
    return args.host or settings.host, args.port if args.port is not None else settings.port


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings, with what the command line gives in place of their own (checked the same way)."""
    from avatar_care.core.config import get_settings

    overrides = {name: getattr(args, name) for name in ("tls_cert", "tls_key") if getattr(args, name, None)}
    return Settings(**overrides) if overrides else get_settings()


def run_uvicorn(app: FastAPI, settings: Settings, host: str, port: int, log_level: str) -> None:
    """uvicorn with TLS when a certificate is set, and forwarded headers from trusted proxies only."""
    import uvicorn

    from avatar_care.core.logging import log_config

    options: dict[str, Any] = {}
    if settings.tls_cert is not None and settings.tls_key is not None:
        options |= {"ssl_certfile": str(settings.tls_cert), "ssl_keyfile": str(settings.tls_key)}
    # X-Forwarded-For/-Proto are believed only from the proxies listed; with none, from nobody
    # (uvicorn's own default would trust 127.0.0.1)
    options |= {
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies) or "",
    }
    # Secrets redacted on every log handler; WebSocket messages as large as signaling takes.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config(log_level),
        ws_max_size=WS_MAX_SIZE,
        **options,
    )


def run_uvicorn_on(app: FastAPI, sock: socket.socket, log_level: str) -> None:
    """uvicorn on a socket already bound (a room worker's: its port is known before it serves)."""
    import uvicorn

    from avatar_care.core.logging import log_config

    config = uvicorn.Config(
        app, log_level=log_level, log_config=log_config(log_level), ws_max_size=WS_MAX_SIZE
    )
    uvicorn.Server(config).run(sockets=[sock])


def run_serve(args: argparse.Namespace) -> int:
    from avatar_care.app import create_app
    from avatar_care.core.db import SQLiteInUse, claim_sqlite_file

    settings = settings_for(args)
    host, port = listen_address(args, settings)
    on_postgresql = settings.database_url.startswith("postgresql")
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1) if on_postgresql else 0
    if workers < 0:
        print("avatar-care: --workers is a number of processes, 0 or more", file=sys.stderr)
        return 2
    if (workers or args.remote_workers) and not on_postgresql:
        print(
            "avatar-care: room workers need PostgreSQL (AVATAR_CARE_DATABASE_URL=postgresql://...); "
            "on SQLite live rooms run in the server's process (--workers 0)",
            file=sys.stderr,
        )
        return 2
    try:
        claim = claim_sqlite_file(settings)  # held open while the server runs
    except SQLiteInUse as exc:
        print(f"avatar-care: {exc}", file=sys.stderr)
        return 2
    # the local workers start and stop with the application (its lifespan), so they are stopped
    # before the process ends on a signal (uvicorn raises it again once it has shut down)
    app = create_app(settings, rooms_on_workers=bool(workers or args.remote_workers), local_workers=workers)
    print(f"avatar-care: serving on {settings.origin(host, port)} (API docs at /docs)", flush=True)
    run_uvicorn(app, settings, host, port, "info")
    if claim is not None:
        claim.close()
    return 0
