"""``avatar-care serve``: the server in one process on its embedded default."""

from __future__ import annotations

import argparse
import logging

from avatar_care.core.config import Settings

logger = logging.getLogger(__name__)
#: The largest WebSocket message the server reads (signaling's own limit is 64 KiB; uvicorn's
#: default would read 16 MiB before the route could refuse it).
WS_MAX_SIZE = 128 * 1024


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "serve",
        help="start the server (HTTP API and pages) in one process",
        description="Starts avatar-care on uvicorn. The embedded default needs nothing else: data goes to "
        "AVATAR_CARE_DATA_DIR (./data).",
    )
    add_listen_options(p)
    p.set_defaults(func=run_serve)


def add_listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default 8000)")


def listen_address(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Host and port from the command line, else from the settings."""
    return args.host or settings.host, args.port if args.port is not None else settings.port


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from avatar_care.app import create_app
    from avatar_care.core.config import get_settings
    from avatar_care.core.logging import log_config

    settings = get_settings()
    host, port = listen_address(args, settings)
    app = create_app(settings)
    print(f"avatar-care: serving on http://{host}:{port} (API docs at /docs)", flush=True)
    # Secrets redacted on every log handler; WebSocket messages as large as signaling takes.
    uvicorn.run(
        app, host=host, port=port, log_level="info", log_config=log_config("info"), ws_max_size=WS_MAX_SIZE
    )
    return 0
