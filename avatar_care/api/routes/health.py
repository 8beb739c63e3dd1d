"""Liveness and readiness: ``/api/health`` says the process answers; ``/api/ready`` that it can serve.

Ready means the database answers and its schema is at the newest migration; otherwise 503 with
the reason (for a load balancer or an orchestrator's readiness probe). Neither needs credentials
and neither says more than that.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rooms.db import schema_problem

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "the database is unreachable or not migrated"}})
async def ready(request: Request) -> JSONResponse:
    try:
        problem = await asyncio.wait_for(asyncio.to_thread(schema_problem, request.app.state.engine), 10)
    except TimeoutError:
        problem = "the database did not answer within 10 s"
    if problem is not None:
        return JSONResponse({"status": "not ready", "detail": problem}, status_code=503)
    return JSONResponse({"status": "ready"})
