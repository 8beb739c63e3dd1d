"""``avatar-care demo``: the server with a demo room whose built-in operator replays a session."""

from __future__ import annotations

import argparse

from avatar_care.commands.serve import WS_MAX_SIZE, add_listen_options, listen_address


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "demo",
        help="start the server with a demo room and a built-in demo operator (no camera needed)",
        description="Prints 'customer: URL' and 'operator: URL' (the demo room's pages) and starts serving.",
    )
    add_listen_options(p)
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    import uvicorn

    from avatar_care.app import create_app
    from avatar_care.core.config import get_settings
    from avatar_care.core.logging import log_config
    from avatar_care.live.ice import use_loopback_only

    settings = get_settings()
    host, port = listen_address(args, settings)
    if host in ("127.0.0.1", "localhost"):
        use_loopback_only()  # every peer is on this machine: offer the loopback address
    app = create_app(settings, demo=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    key = app.state.demo_operator_key
    print(f"customer: http://{shown}:{port}/app/room/customer.html?room=demo", flush=True)
    print(f"operator: http://{shown}:{port}/app/console/index.html?room=demo#key={key}", flush=True)
    # Secrets redacted on every log handler; WebSocket messages as large as signaling takes.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        log_config=log_config("warning"),
        ws_max_size=WS_MAX_SIZE,
    )
    return 0
