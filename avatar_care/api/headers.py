"""Security headers on every HTTP response: CSP, nosniff, no referrer, framing, HSTS under TLS.

``Content-Security-Policy``: scripts only from this origin (no inline script, no ``eval``; the
pages' import maps, which are data, are allowed by their hash, computed from the pages when the app
starts), WebAssembly compilation for the console's MediaPipe, pictures also from https (a brand's
catalogue images) and ``blob:`` (three.js textures), connections to this origin (HTTP and
WebSocket) and to ``blob:`` and ``data:`` (three.js fetches a model's embedded textures so). ``frame-ancestors``: the customer's pages (``/app/customer/``, ``/app/room/``) may be
embedded by the origins in the server setting ``frame_ancestors`` (``AVATAR_CARE_FRAME_ANCESTORS``,
space-separated, e.g. ``https://www.brand.example``; empty: by nobody); every other page by nobody.
``Strict-Transport-Security`` only when the request came over https (a browser ignores it on http).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Pages a brand may embed on its own site (the customer's side).
EMBEDDABLE: Final = ("/app/customer/", "/app/room/")
HSTS: Final = "max-age=31536000"  # one year; subdomains are the brand's to decide
_IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.DOTALL)


def import_map_hashes(web_client_dir: Path) -> list[str]:
    """CSP sources for the pages' inline import maps (their exact text, hashed)."""
    hashes: set[str] = set()
    if web_client_dir.is_dir():
        for page in web_client_dir.rglob("*.html"):
            if "node_modules" in page.parts:
                continue
            for text in _IMPORT_MAP.findall(page.read_text(encoding="utf-8")):
                digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
                hashes.add(f"'sha256-{digest}'")
    return sorted(hashes)


def content_security_policy(script_hashes: Iterable[str], frame_ancestors: str) -> str:
    scripts = " ".join(["'self'", "'wasm-unsafe-eval'", *script_hashes])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self'",
            "img-src 'self' data: blob: https:",
            "media-src 'self' blob:",
            "connect-src 'self' blob: data:",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors or chr(39) + 'none' + chr(39)}",
        ]
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, web_client_dir: Path, frame_ancestors: str = "") -> None:
        self.app = app
        hashes = import_map_hashes(web_client_dir)
        self.embeddable_csp = content_security_policy(hashes, frame_ancestors.strip())
        self.csp = content_security_policy(hashes, "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        embeddable = path.startswith(EMBEDDABLE)
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Content-Security-Policy"] = self.embeddable_csp if embeddable else self.csp
                if not embeddable:
                    headers["X-Frame-Options"] = "DENY"
                if https:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, with_headers)
