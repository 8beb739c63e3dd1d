"""Request bodies are limited per route and refused while they stream in, before anything else runs.

An ASGI middleware in front of the application (so before authentication, before any route reads
the body): a declared ``Content-Length`` above the route's limit is answered 413 at once, without
reading; a body that streams past it (chunked, or lying about its length) is answered 413 as soon
as the limit is crossed, and what came so far is dropped. Small bodies (every JSON route) are read
here whole, held to the input policy (``avatar_care.api.input_policy.json_problem``: 422 with the
reason) and handed on; large ones (uploads) are counted as the route reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from avatar_care.api.input_policy import json_problem

KIB: Final = 1024
MIB: Final = 1024 * KIB
#: Bodies up to this size are read whole before the route runs; larger limits stream.
BUFFER_UP_TO: Final = 1 * MIB


@dataclass(frozen=True)
class RouteLimit:
    method: str
    path_prefix: str
    max_bytes: int


#: The routes that take more than the default, first match wins (docs/security.md lists them).
ROUTE_LIMITS: Final = (
    RouteLimit("POST", "/api/avatars", 40 * MIB + 64 * KIB),  # the checker's 40 MiB and the form around it
    RouteLimit("POST", "/api/retarget", 16 * MIB),
)
#: Every other route: room for the largest JSON a page sends (a template, a chat message).
DEFAULT_LIMIT: Final = 256 * KIB


def limit_for(method: str, path: str) -> int:
    for rule in ROUTE_LIMITS:
        if method == rule.method and (path == rule.path_prefix or path.startswith(rule.path_prefix + "/")):
            return rule.max_bytes
    return DEFAULT_LIMIT


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode("ascii")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))  # the rest of the body is not read
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _too_large(limit: int) -> str:
    return f"the request body is larger than this route takes ({limit:,} bytes at most)"


class BodyLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["method"], scope["path"])
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _answer(send, 400, "Content-Length is not a number")
                return
            if int(declared) > limit:
                await _answer(send, 413, _too_large(limit))
                return
        if limit <= BUFFER_UP_TO:
            await self._buffered(scope, receive, send, limit, headers.get(b"content-type", b""))
        else:
            await self._streamed(scope, receive, send, limit)

    async def _buffered(self, scope: Scope, receive: Receive, send: Send, limit: int, kind: bytes) -> None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _answer(send, 413, _too_large(limit))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if b"json" in kind.lower():
            problem = json_problem(body)
            if problem is not None:
                await _answer(send, 422, problem)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, when it comes

        await self.app(scope, replay, send)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Count what the route reads; past the limit, answer 413 and tell the route the client left."""
        size = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal size, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            size += len(message.get("body", b""))
            if size > limit:
                refused = True
                if not started:
                    await _answer(send, 413, _too_large(limit))
                return {"type": "http.disconnect"}  # the route stops reading; what it read is dropped
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out already: whatever the route says now is not sent
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, watched)
