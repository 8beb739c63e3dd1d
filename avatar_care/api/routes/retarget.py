"""Retargeting over HTTP: tracking frames in, avatar poses out (a brand's own tools and integrations).

It costs CPU on the serving process (about 0.7 ms a frame), so it takes a brand's API key and holds
each key to a rate (``AVATAR_CARE_RETARGET_RATE``) and a number of frames per call
(``AVATAR_CARE_RETARGET_MAX_FRAMES``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from avatar_care.api.deps import CurrentBrandAdmin, SettingsDep
from avatar_care.core.rate_limits import RateLimits, rate, too_many
from rigging.frame import FrameError, parse_frame
from rigging.solver import Retargeter, SolverOptions

router = APIRouter(prefix="/api/retarget", tags=["retarget"])


class RetargetRequest(BaseModel):
    frames: list[dict[str, Any]] = Field(description="tracking frames (docs/retargeting.md), in time order")
    filter: bool = Field(default=True, description="apply the temporal filter")


class RetargetResponse(BaseModel):
    poses: list[dict[str, Any]]
    skipped: list[str] = Field(description="frames left out, each with the reason")


@router.post("", response_model=RetargetResponse)
def retarget(
    request: RetargetRequest, brand: CurrentBrandAdmin, settings: SettingsDep, http: Request
) -> RetargetResponse:
    """Solve a batch of frames with a fresh solver; an unusable frame is skipped and named."""
    if len(request.frames) > settings.retarget_max_frames:
        raise HTTPException(
            status_code=413, detail=f"at most {settings.retarget_max_frames} frames per request"
        )
    limits: RateLimits = http.app.state.rate_limits
    retry_after = limits.hit(rate(settings.retarget_rate), "retarget", str(brand.id))
    if retry_after is not None:
        raise too_many(retry_after, "retargeting calls for this key")
    solver = Retargeter(SolverOptions(filter=request.filter))
    poses: list[dict[str, Any]] = []
    skipped: list[str] = []
    for number, obj in enumerate(request.frames):
        try:
            poses.append(solver.solve(parse_frame(obj)).to_json())
        except FrameError as exc:
            skipped.append(f"frames[{number}]: {exc}")
    return RetargetResponse(poses=poses, skipped=skipped)
