import math
import tempfile

from fastapi.testclient import TestClient

from avatar_care.app import create_app
from avatar_care.core.config import Settings
from rooms.brands import create_brand
from tests.rigging.posed_landmarks import make_frame, rq


def client() -> TestClient:
    return TestClient(create_app(Settings(data_dir=tempfile.mkdtemp())))


def brand_key(c: TestClient) -> dict[str, str]:
    with c.app.state.sessions() as s:  # type: ignore[attr-defined]
        return {"X-API-Key": create_brand(s, "Ottica Rossi")[1]}


def test_frames_in_poses_out_with_bad_frames_named() -> None:
    frames = [make_frame({"leftUpperArm": rq((0, 0, 1), 40)}, t_ms=i * 33.0).to_json() for i in range(15)]
    frames.insert(2, {"t_ms": "soon", "pose_world": None})
    c = client()
    r = c.post("/api/retarget", json={"frames": frames, "filter": False}, headers=brand_key(c))
    assert r.status_code == 200
    body = r.json()
    assert len(body["poses"]) == 15  # the last ones after the 0.3 s ease-in from rest
    assert body["skipped"] == ["frames[2]: t_ms: expected a finite number, got 'soon'"]
    q = body["poses"][-1]["bones"]["leftUpperArm"]
    assert abs(math.degrees(2 * math.acos(min(1.0, abs(q[3])))) - 40) < 1.0


def test_malformed_request_is_a_clear_422() -> None:
    c = client()
    r = c.post("/api/retarget", json={"frames": "not a list"}, headers=brand_key(c))
    assert r.status_code == 422


def test_health_and_openapi() -> None:
    c = client()
    assert c.get("/api/health").json() == {"status": "ok"}
    assert "/api/retarget" in c.get("/openapi.json").json()["paths"]
