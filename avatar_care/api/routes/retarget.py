"""Retargeting over HTTP: tracking frames in, avatar poses out (tools and integrations)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from rigging.frame import FrameError, parse_frame
from rigging.solver import Retargeter, SolverOptions

router = APIRouter(prefix="/api/retarget", tags=["retarget"])

MAX_FRAMES = 10_000


class RetargetRequest(BaseModel):
    frames: list[dict[str, Any]] = Field(description="tracking frames (docs/retargeting.md), in time order")
    filter: bool = Field(default=True, description="apply the temporal filter")


class RetargetResponse(BaseModel):
    poses: list[dict[str, Any]]
    skipped: list[str] = Field(description="frames left out, each with the reason")


@router.post("", response_model=RetargetResponse)
def retarget(request: RetargetRequest) -> RetargetResponse:
    """Solve a batch of frames with a fresh solver; an unusable frame is skipped and named."""
    if len(request.frames) > MAX_FRAMES:
        raise HTTPException(status_code=413, detail=f"at most {MAX_FRAMES} frames per request")
    solver = Retargeter(SolverOptions(filter=request.filter))
    poses: list[dict[str, Any]] = []
    skipped: list[str] = []
    for number, obj in enumerate(request.frames):
        try:
            poses.append(solver.solve(parse_frame(obj)).to_json())
        except FrameError as exc:
            skipped.append(f"frames[{number}]: {exc}")
    return RetargetResponse(poses=poses, skipped=skipped)
