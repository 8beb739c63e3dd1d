"""HTTP requests of this process: how many by method, route and status, and how long they took."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: methods kept as they are in the labels; any other is "other" (a client may send any word)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: request time buckets, seconds: an API call is a few ms, a busy one a few hundred
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class HttpFigures:
    """This process's HTTP figures, in a registry of their own (several apps may share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "avatar_care_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "avatar_care_http_request_seconds",
            "time from a request's arrival to the end of its answer, by method and route template",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )


def route_label(scope: Scope) -> str:
    """The route's template (``/api/care/{session_id}``), never the path itself: ids in paths
    would make a series per customer. Static files are one label, a path nothing matched another."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if scope.get("app_root_path") is not None and scope.get("root_path"):
        return "(static)"
    return "(unmatched)"


class HttpMetrics:
    """ASGI middleware counting every HTTP answer into ``figures`` (WebSockets are not counted)."""

    def __init__(self, app: ASGIApp, figures: HttpFigures) -> None:
        self.app = app
        self.figures = figures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the answer started: the server answers 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = route_label(scope)
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.figures.requests.labels(method, route, str(status)).inc()
            self.figures.seconds.labels(method, route).observe(time.perf_counter() - started)
