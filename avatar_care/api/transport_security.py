"""HSTS: once a browser has reached the server over HTTPS, it never tries plain HTTP again.

Sent on every HTTPS response, whether TLS ends in this process (``--tls-cert``) or at a trusted
reverse proxy that says so with ``X-Forwarded-Proto: https`` (uvicorn's proxy headers then make the
request's scheme https; avatar_care/commands/serve.py). Never on plain HTTP, where it would mean
nothing and where a development machine must stay reachable.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: One year, the common choice; subdomains are the brand's to decide, not ours.
HSTS = (b"strict-transport-security", b"max-age=31536000")


class StrictTransportSecurity:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), HSTS]
            await send(message)

        await self.app(scope, receive, send_with_hsts)
