"""HTTPS in the server itself, HSTS on HTTPS only, the public origin in what it prints, and
forwarded headers believed from trusted proxies only."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import httpx
from websockets.asyncio.client import connect as ws_connect

from tests.support import running_server
from tests.tls_certificate import self_signed


def test_serve_over_https_with_hsts(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    args = ("--tls-cert", str(cert), "--tls-key", str(key))
    with running_server("serve", tmp_path / "data", args=args, tls_cert=cert) as (base, first_line):
        assert (
            base.startswith("https://")
            and first_line == f"avatar-care: serving on {base} (API docs at /docs)"
        )
        r = httpx.get(f"{base}/api/health", verify=ssl.create_default_context(cafile=str(cert)), timeout=5)
        assert r.json() == {"status": "ok"}
        assert r.headers["strict-transport-security"] == "max-age=31536000"
        assert httpx.get(
            f"{base}/app/room/customer.html", verify=ssl.create_default_context(cafile=str(cert)), timeout=5
        ).headers["strict-transport-security"]
        # signaling upgrades over TLS too (wss): a room that does not exist is refused with its reason
        # as soon as the socket opens (read before the close that follows it, so nothing is sent)
        context = ssl.create_default_context(cafile=str(cert))
        assert "no live room" in asyncio.run(
            first_message(base.replace("https", "wss") + "/ws/rooms/lr-nowhere", context)
        )


async def first_message(url: str, context: ssl.SSLContext) -> str:
    """The first message on a WebSocket, every step bounded. (websockets' threaded client could
    hang for good joining its reader thread when the server's refusal and close came with the
    handshake's answer; the asyncio one is bounded by these time-outs.)"""

    async def read() -> str:
        async with ws_connect(url, ssl=context, open_timeout=10, close_timeout=5) as ws:
            return str(await ws.recv())

    return await asyncio.wait_for(read(), 30)


def test_the_demo_prints_its_urls_on_the_public_origin(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    env = {
        "AVATAR_CARE_TLS_CERT": str(cert),
        "AVATAR_CARE_TLS_KEY": str(key),
        "AVATAR_CARE_PUBLIC_URL": "https://care.example.com",
    }
    with running_server("demo", tmp_path / "data", env=env, tls_cert=cert) as (base, first_line):
        assert first_line == "customer: https://care.example.com/app/room/customer.html?room=demo"
        assert (
            httpx.get(
                f"{base}/api/health", verify=ssl.create_default_context(cafile=str(cert)), timeout=5
            ).status_code
            == 200
        )


def test_forwarded_headers_only_from_trusted_proxies(tmp_path: Path) -> None:
    """Behind a proxy that ends TLS, its X-Forwarded-Proto makes the request https (HSTS is sent);
    the same header from anyone else changes nothing."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    trusted = {"AVATAR_CARE_TRUSTED_PROXIES": "127.0.0.1"}
    with running_server("serve", tmp_path / "trusted", env=trusted) as (base, _):
        assert "strict-transport-security" in httpx.get(f"{base}/api/health", headers=forwarded).headers
        assert "strict-transport-security" not in httpx.get(f"{base}/api/health").headers  # plain http
    elsewhere = {"AVATAR_CARE_TRUSTED_PROXIES": "198.51.100.0/24"}
    for env in ({}, elsewhere):
        with running_server("serve", tmp_path / "untrusted", env=env) as (base, _):
            assert (
                "strict-transport-security" not in httpx.get(f"{base}/api/health", headers=forwarded).headers
            )
