"""``avatar-care worker``: a room worker, a process that runs live rooms (docs/scale.md).

It serves signaling on the private network (the API processes relay the pages' signaling to it),
registers in the shared PostgreSQL database and heartbeats there every second; the API processes
place each new live room on the least-loaded live worker. ``avatar-care serve --workers N``
starts N of these on its own machine; on other machines start them by hand (or by their service
manager) with the same database URL.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from urllib.parse import urlsplit

from avatar_care.commands.serve import settings_for


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "worker",
        help="run live rooms for the API processes sharing this PostgreSQL database",
        description="A room worker: serves the live rooms' signaling on --host:--port (0: a free "
        "port) for the API processes to relay to, and registers itself in the database "
        "(AVATAR_CARE_DATABASE_URL, PostgreSQL) under --advertise, the address they reach it at.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default 0: any free port)")
    p.add_argument(
        "--advertise",
        default=None,
        help="the base URL the API processes reach this worker at, e.g. ws://10.0.0.5:8101 "
        "(default: ws://HOST:PORT; required when HOST is 0.0.0.0 or ::)",
    )
    p.add_argument(
        "--ice-loopback",
        action="store_true",
        help="offer only the loopback address to peers (every participant on this machine)",
    )
    # set by ``avatar-care serve --workers N`` for its own workers: end when that process ends
    p.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run_worker, tls_cert=None, tls_key=None)


def advertise_problem(url: str) -> str | None:
    """Why ``url`` cannot be a worker's signaling base URL, or None (it is stored as it is)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return "not a ws:// or wss:// URL like ws://10.0.0.5:8101"
    if parts.path.strip("/") or parts.query or parts.fragment:
        return "only scheme, host and port (the API processes add /ws/rooms/...)"
    if port is None:
        return "give the port"
    if len(url) > 300:
        return "longer than 300 characters"
    return None


def run_worker(args: argparse.Namespace) -> int:
    from avatar_care.app import create_app
    from avatar_care.commands.serve import run_uvicorn_on
    from avatar_care.live.ice import use_loopback_only
    from avatar_care.workers.local import end_with_parent

    if args.parent_pid is not None and not end_with_parent(args.parent_pid):
        print("avatar-care: the server that started this worker has ended", file=sys.stderr)
        return 2
    if args.advertise is not None and (problem := advertise_problem(args.advertise)):
        print(f"avatar-care: --advertise {args.advertise!r}: {problem}", file=sys.stderr)
        return 2
    settings = settings_for(args)
    if not settings.database_url.startswith("postgresql"):
        print(
            "avatar-care: a room worker needs PostgreSQL (AVATAR_CARE_DATABASE_URL=postgresql://...): "
            "the API processes find it there",
            file=sys.stderr,
        )
        return 2
    try:
        unspecified = ipaddress.ip_address(args.host).is_unspecified
    except ValueError:
        unspecified = False
    if unspecified and not args.advertise:
        print(f"avatar-care: listening on {args.host}, give --advertise ws://ADDRESS:PORT", file=sys.stderr)
        return 2
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"avatar-care: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    url = (args.advertise or f"ws://{shown}:{port}").rstrip("/")
    if args.ice_loopback:
        use_loopback_only()
    app = create_app(settings, worker_url=url)
    print(f"avatar-care: room worker {app.state.worker_row.id} on {url}", flush=True)
    run_uvicorn_on(app, sock, "info")
    return 0
