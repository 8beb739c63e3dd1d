"""``avatar-care demo``: the server with a demo room whose built-in operator replays a session."""

from __future__ import annotations

import argparse
import sys

from avatar_care.commands.serve import add_listen_options, listen_address, run_uvicorn, settings_for


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "demo",
        help="start the server with a demo room and a built-in demo operator (no camera needed)",
        description="Prints 'customer: URL' and 'operator: URL' (the demo room's pages, on "
        "AVATAR_CARE_PUBLIC_URL when it is set) and starts serving.",
    )
    add_listen_options(p)
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from avatar_care.app import create_app
    from avatar_care.core.db import SQLiteInUse, claim_sqlite_file
    from avatar_care.live.ice import use_loopback_only

    settings = settings_for(args)
    host, port = listen_address(args, settings)
    if host in ("127.0.0.1", "localhost"):
        use_loopback_only()  # every peer is on this machine: offer the loopback address
    try:
        claim = claim_sqlite_file(settings)  # held open while the server runs
    except SQLiteInUse as exc:
        print(f"avatar-care: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings, demo=True)
    origin = settings.origin(host, port)
    key = app.state.demo_operator_key
    print(f"customer: {origin}/app/room/customer.html?room=demo", flush=True)
    print(f"operator: {origin}/app/console/index.html?room=demo#key={key}", flush=True)
    run_uvicorn(app, settings, host, port, "warning")
    if claim is not None:
        claim.close()
    return 0
